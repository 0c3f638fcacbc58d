// RESP, the Redis serialization protocol (RESP2 and RESP3): an incremental
// reply parser fed bytes (no socket inside) and the command encoder.
//
// Hand-written rather than hiredis: Debian ships hiredis 0.14, which has no
// RESP3 push support, no TLS and an old async API; the server's sockets are
// Qt's (QTcpSocket / QSslSocket), so the parser only has to turn bytes into
// values. Hard limits keep a hostile or broken peer from exhausting memory.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QString>

#include <vector>

namespace parley::server::redis {

struct RespValue
{
    enum class Type {
        SimpleString, // +OK
        Error, // -ERR ... and RESP3 blob errors (!)
        Integer, // :42
        BulkString, // $3 foo; also RESP3 verbatim strings (=) without their format
        BigNumber, // (123... kept as its decimal text
        Double, // ,3.14
        Boolean, // #t
        Null, // $-1, *-1 and RESP3 _
        Array, // *N
        Set, // ~N
        Map, // %N: elements hold key, value, key, value...
        Push, // >N: out-of-band data (pub/sub messages under RESP3)
    };

    Type type = Type::Null;
    QByteArray string; // SimpleString, Error, BulkString, BigNumber
    qint64 integer = 0; // Integer
    double number = 0; // Double
    bool boolean = false; // Boolean
    std::vector<RespValue> elements; // Array, Set, Map, Push

    bool isNull() const { return type == Type::Null; }
    bool isError() const { return type == Type::Error; }
    bool isAggregate() const
    {
        return type == Type::Array || type == Type::Set || type == Type::Map || type == Type::Push;
    }
    // Simple, bulk and verbatim strings, errors and big numbers as text.
    bool isString() const
    {
        return type == Type::SimpleString || type == Type::BulkString || type == Type::Error
            || type == Type::BigNumber;
    }

    static RespValue simple(QByteArray text);
    static RespValue error(QByteArray text);
    static RespValue bulk(QByteArray data);
    static RespValue integerValue(qint64 value);
    static RespValue null();
    static RespValue aggregate(Type type, std::vector<RespValue> elements);

    friend bool operator==(const RespValue &, const RespValue &) = default;
};

// A readable one-line rendering for logs and test failure messages.
QString describe(const RespValue &value);

struct RespLimits
{
    qint64 maxBulkBytes = 64 * 1024 * 1024; // one bulk string
    qint64 maxLineBytes = 64 * 1024; // a header or simple string line
    int maxDepth = 16; // nested aggregates
    qint64 maxElements = 1024 * 1024; // elements in one top-level reply, all levels
};

class RespParser
{
public:
    enum class Status {
        NeedMore, // nothing complete yet: feed more bytes
        Value, // *out holds the next reply
        Error, // protocol error (errorString()): drop the connection; the parser stays failed
    };

    explicit RespParser(RespLimits limits = {});

    void feed(QByteArrayView bytes);
    // The next complete top-level value, in arrival order.
    Status next(RespValue *out);
    QString errorString() const { return m_error; }
    // Forget everything (a new connection).
    void reset();
    qsizetype bufferedBytes() const { return m_buffer.size() - m_pos; }

private:
    struct Partial
    {
        RespValue::Type type;
        qint64 remaining; // elements still to come (maps count keys and values)
        bool attribute; // RESP3 attribute (|): parsed, then dropped
        std::vector<RespValue> elements;
    };

    Status fail(const QString &message);
    // Parses one value or aggregate header at m_pos. Returns NeedMore, Error, or Value with
    // *out set (scalar) / a new Partial pushed and *opened set (aggregate header).
    Status parseOne(RespValue *out, bool *opened);
    bool parseInteger(QByteArrayView text, qint64 *value) const;

    RespLimits m_limits;
    QByteArray m_buffer;
    qsizetype m_pos = 0;
    std::vector<Partial> m_stack;
    qint64 m_elementsInReply = 0;
    QString m_error;
};

// *N\r\n$len\r\narg\r\n... : a command as Redis expects it.
QByteArray encodeCommand(const QList<QByteArray> &arguments);
QByteArray encodeCommand(std::initializer_list<QByteArrayView> arguments);

} // namespace parley::server::redis
