// HTTP/1.1 responses read off one client connection: a plain state machine fed bytes,
// with no socket inside, so every split of the input is testable. Status line, headers,
// Content-Length, chunked and close-delimited bodies, `Connection: close`, 1xx answers
// skipped. Responses come out whole, in the order they arrived.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QString>

#include <utility>

namespace parley::server::aws {

struct HttpResponse
{
    int status = 0;
    QList<std::pair<QByteArray, QByteArray>> headers; // name as sent, value trimmed
    QByteArray body;
    bool closesConnection = false; // `Connection: close`, or HTTP/1.0 without keep-alive

    QByteArray header(QByteArrayView name) const; // first match, case-insensitive
};

class HttpResponseParser
{
public:
    static constexpr qsizetype MaxHeadBytes = 64 * 1024;
    static constexpr qsizetype MaxBodyBytes = 64 * 1024 * 1024; // BatchGetItem: up to 16 MB

    // Appends every response completed by `bytes` to `responses`. False on malformed or
    // oversized input (errorString() says why): the connection cannot be trusted any more.
    bool feed(QByteArrayView bytes, QList<HttpResponse> *responses);
    // The peer closed the connection: completes a close-delimited body. False when a
    // response was cut short; true with nothing appended when the parser was between
    // responses.
    bool finish(QList<HttpResponse> *responses);

    // Between responses with nothing buffered.
    bool isIdle() const { return m_state == State::Head && m_buffer.isEmpty(); }
    QString errorString() const { return m_error; }

private:
    enum class State { Head, Body, ChunkSize, ChunkData, ChunkEnd, Trailers, UntilClose, Failed };

    bool parseHead(qsizetype start, qsizetype headEnd);
    bool fail(const QString &error);
    void complete(QList<HttpResponse> *responses);

    State m_state = State::Head;
    QByteArray m_buffer; // unconsumed input
    HttpResponse m_current;
    qint64 m_remaining = 0; // body or chunk bytes still to come
    QString m_error;
};

} // namespace parley::server::aws
