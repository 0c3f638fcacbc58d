// JSON codec for the Parley wire protocol: strict decoding with field-level
// errors, and canonical encoding. Never throws; every failure is a value.
#pragma once

#include "frames.h"

#include <QByteArray>
#include <QByteArrayView>

namespace parley::protocol {

// Why a frame could not be decoded. `code` is what the server answers with
// (bad_request, unknown_type, too_large); `field` names the offending field
// ("" for the frame as a whole); `rid` is the request id when it could be read,
// so the error reply can still be matched by the client.
struct DecodeError
{
    ErrorCode code = ErrorCode::BadRequest;
    QString field;
    QString message; // human readable, never echoes secrets
    QString rid;
    QString type; // the frame's "type" when it could be read
    friend bool operator==(const DecodeError &, const DecodeError &) = default;
};

template<typename T> class Decoded
{
public:
    Decoded(T value)
        : m_value(std::move(value))
    { }
    Decoded(DecodeError error)
        : m_value(std::move(error))
    { }
    bool ok() const { return std::holds_alternative<T>(m_value); }
    explicit operator bool() const { return ok(); }
    const T &value() const { return std::get<T>(m_value); }
    const DecodeError &error() const { return std::get<DecodeError>(m_value); }

private:
    std::variant<T, DecodeError> m_value;
};

// Server side: parse what a client sent. Checks size (too_large over
// MaxFrameBytes), UTF-8, JSON syntax, the type, and every field's type and range.
Decoded<ClientFrame> decodeClientFrame(QByteArrayView utf8);
// Client side: parse what a server sent, with the same strictness.
Decoded<ServerFrame> decodeServerFrame(QByteArrayView utf8);

QByteArray encode(const ClientFrame &frame);
QByteArray encode(const ServerFrame &frame);
QJsonObject toJson(const ClientFrame &frame);
QJsonObject toJson(const ServerFrame &frame);
QJsonObject messageToJson(const Message &message, bool withType);

// Validation helpers shared with the server and client-core.
bool isValidUserName(QStringView lowercased);
QString normalizeUserName(QStringView user); // lowercases
QString conversationId(QStringView a, QStringView b); // "a:b", sorted
// A new client id for a send: a UUID version 7 (RFC 9562: 48 bits of Unix milliseconds,
// then random bits), so that one sender's cids sort by time. The server's (sender, cid)
// index then grows at its end instead of at a random page per message, which is most of
// what a durable send writes (docs/performance.md).
QString newCid();
// The two members of a conversation id, or nullopt if malformed.
std::optional<std::pair<QString, QString>> conversationMembers(QStringView conv);
qsizetype codePointCount(QStringView text);
// Checks a message body: 1..MaxBodyChars code points, no lone surrogates, no
// control characters other than tab, newline and carriage return.
std::optional<QString> bodyProblem(QStringView body);

} // namespace parley::protocol
