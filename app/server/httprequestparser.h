// The HTTP/1.x front of the server: parses a request head (request line and
// headers) fed in pieces, with no socket inside, so the listener can decide
// between /healthz, /metrics and a WebSocket upgrade before handing the socket on.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QString>

#include <utility>

namespace parley::server {

class HttpRequestParser
{
public:
    enum class State {
        NeedMore,
        Complete,
        Error,
    };

    struct Header
    {
        QByteArray name; // as sent
        QByteArray value; // surrounding whitespace trimmed
    };

    // Request line, excluding its line ending.
    static constexpr qsizetype MaxRequestLineBytes = 8 * 1024;
    // Whole head, including every line ending and the final empty line.
    static constexpr qsizetype MaxHeadBytes = 16 * 1024;
    static constexpr int MaxHeaders = 100;

    // Consumes bytes up to the end of the head and no further: anything after it
    // (a WebSocket frame sent eagerly) is left to the caller, see bytesConsumed().
    // Once Complete or Error, further input is ignored until reset().
    State feed(QByteArrayView bytes);
    void reset();

    State state() const { return m_state; }
    // Bytes of input taken so far; once Complete, the length of the head
    // including its final empty line.
    qsizetype bytesConsumed() const { return m_consumed; }

    QByteArray method() const { return m_method; }
    // The request target as sent, e.g. "/metrics?x=1".
    QByteArray target() const { return m_target; }
    // Path and query of the target ("/metrics", "x=1"), still percent-encoded.
    // An absolute-form target ("http://host/p?q") yields its path and query too.
    QByteArray path() const { return m_path; }
    QByteArray query() const { return m_query; }
    // "HTTP/1.0" or "HTTP/1.1".
    QByteArray version() const { return m_version; }

    // Case-insensitive; a repeated header's values are joined with ", ".
    // Empty if absent (use hasHeader() to tell absent from empty).
    QByteArray header(QByteArrayView name) const;
    bool hasHeader(QByteArrayView name) const;
    // In the order received.
    const QList<Header> &headers() const { return m_headers; }

    // Status to answer with when state() is Error (400, 413, 414, 431, 505), else 0.
    int errorStatus() const { return m_errorStatus; }
    QString errorMessage() const { return m_errorMessage; }

    // A complete GET over HTTP/1.1 asking for a WebSocket (RFC 6455 section 4.2.1).
    bool isWebSocketUpgrade() const;

    // A complete HTTP/1.1 response with Content-Length and Cache-Control: no-store;
    // Content-Type is omitted when contentType is empty.
    static QByteArray response(
        int status, QByteArrayView contentType, QByteArrayView body, bool close = true);
    static QByteArrayView reasonPhrase(int status);

private:
    enum class Stage {
        RequestLine,
        Headers,
    };

    State fail(int status, QString message);
    // Fails with 414/431 when the line so far or the head so far is too long.
    bool withinLimits(qsizetype lineContentBytes, qsizetype headBytes);
    State processLine(QByteArrayView line);
    State parseRequestLine(QByteArrayView line);
    State parseHeaderLine(QByteArrayView line);
    State finishHead();

    State m_state = State::NeedMore;
    Stage m_stage = Stage::RequestLine;
    QByteArray m_line; // the current line, while its end has not arrived
    qsizetype m_consumed = 0;

    QByteArray m_method;
    QByteArray m_target;
    QByteArray m_path;
    QByteArray m_query;
    QByteArray m_version;
    QList<Header> m_headers;

    int m_errorStatus = 0;
    QString m_errorMessage;
};

} // namespace parley::server
