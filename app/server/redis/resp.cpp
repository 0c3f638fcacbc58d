#include "resp.h"

#include <cmath>
#include <cstdlib>

using namespace Qt::StringLiterals;

namespace parley::server::redis {

namespace {

// The start of a bad line, for the error message.
QString snippet(QByteArrayView line)
{
    return QString::fromLatin1(line.first(std::min<qsizetype>(line.size(), 32)));
}

} // namespace

RespValue RespValue::simple(QByteArray text)
{
    RespValue v;
    v.type = Type::SimpleString;
    v.string = std::move(text);
    return v;
}

RespValue RespValue::error(QByteArray text)
{
    RespValue v;
    v.type = Type::Error;
    v.string = std::move(text);
    return v;
}

RespValue RespValue::bulk(QByteArray data)
{
    RespValue v;
    v.type = Type::BulkString;
    v.string = std::move(data);
    return v;
}

RespValue RespValue::integerValue(qint64 value)
{
    RespValue v;
    v.type = Type::Integer;
    v.integer = value;
    return v;
}

RespValue RespValue::null()
{
    return {};
}

RespValue RespValue::aggregate(Type type, std::vector<RespValue> elements)
{
    RespValue v;
    v.type = type;
    v.elements = std::move(elements);
    return v;
}

QString describe(const RespValue &value)
{
    using T = RespValue::Type;
    auto list = [&](const QString &open, const QString &close) -> QString {
        QStringList parts;
        for (const RespValue &e : value.elements)
            parts.append(describe(e));
        return open + parts.join(u", "_s) + close;
    };
    switch (value.type) {
    case T::SimpleString:
        return u"+"_s + QString::fromUtf8(value.string);
    case T::Error:
        return u"-"_s + QString::fromUtf8(value.string);
    case T::Integer:
        return QString::number(value.integer);
    case T::BulkString:
        return u'"' + QString::fromUtf8(value.string) + u'"';
    case T::BigNumber:
        return u"("_s + QString::fromLatin1(value.string);
    case T::Double:
        return QString::number(value.number);
    case T::Boolean:
        return value.boolean ? u"true"_s : u"false"_s;
    case T::Null:
        return u"null"_s;
    case T::Array:
        return list(u"["_s, u"]"_s);
    case T::Set:
        return list(u"~{"_s, u"}"_s);
    case T::Map:
        return list(u"%{"_s, u"}"_s);
    case T::Push:
        return list(u">["_s, u"]"_s);
    }
    return {};
}

RespParser::RespParser(RespLimits limits)
    : m_limits(limits)
{ }

void RespParser::feed(QByteArrayView bytes)
{
    if (!m_error.isEmpty())
        return;
    m_buffer.append(bytes);
}

void RespParser::reset()
{
    m_buffer.clear();
    m_pos = 0;
    m_stack.clear();
    m_elementsInReply = 0;
    m_error.clear();
}

RespParser::Status RespParser::fail(const QString &message)
{
    m_error = u"RESP protocol error: "_s + message;
    m_buffer.clear();
    m_pos = 0;
    m_stack.clear();
    return Status::Error;
}

bool RespParser::parseInteger(QByteArrayView text, qint64 *value) const
{
    // Strict: an optional '-', then 1..19 digits; nothing else.
    if (text.isEmpty() || text.size() > 20)
        return false;
    bool ok = false;
    *value = text.toLongLong(&ok);
    if (!ok)
        return false;
    for (qsizetype i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (!(c >= '0' && c <= '9') && !(i == 0 && c == '-' && text.size() > 1))
            return false;
    }
    return true;
}

RespParser::Status RespParser::parseOne(RespValue *out, bool *opened)
{
    using T = RespValue::Type;
    *opened = false;
    const qsizetype available = m_buffer.size() - m_pos;
    if (available < 1)
        return Status::NeedMore;
    const char *data = m_buffer.constData() + m_pos;
    const qsizetype crlf = QByteArrayView(data, available).indexOf("\r\n");
    if (crlf < 0) {
        if (available > m_limits.maxLineBytes + 2)
            return fail(u"a line longer than %1 bytes"_s.arg(m_limits.maxLineBytes));
        return Status::NeedMore;
    }
    if (crlf - 1 > m_limits.maxLineBytes)
        return fail(u"a line longer than %1 bytes"_s.arg(m_limits.maxLineBytes));
    const char kind = data[0];
    const QByteArrayView line(data + 1, crlf - 1);
    const qsizetype headerBytes = crlf + 2;

    auto scalar = [&](RespValue value) {
        *out = std::move(value);
        m_pos += headerBytes;
        return Status::Value;
    };
    auto length = [&](qint64 *n) {
        if (!parseInteger(line, n))
            return fail(u"'%1' is not a valid length"_s.arg(snippet(line)));
        return Status::Value;
    };

    switch (kind) {
    case '+':
        return scalar(RespValue::simple(line.toByteArray()));
    case '-':
        return scalar(RespValue::error(line.toByteArray()));
    case ':': {
        qint64 n = 0;
        if (!parseInteger(line, &n))
            return fail(u"'%1' is not an integer"_s.arg(snippet(line)));
        return scalar(RespValue::integerValue(n));
    }
    case '_':
        if (!line.isEmpty())
            return fail(u"a null (_) with content"_s);
        return scalar(RespValue::null());
    case '#':
        if (line != "t" && line != "f")
            return fail(u"a boolean must be #t or #f"_s);
        {
            RespValue v;
            v.type = T::Boolean;
            v.boolean = line == "t";
            return scalar(v);
        }
    case ',': {
        RespValue v;
        v.type = T::Double;
        const QByteArray text = line.toByteArray().toLower();
        if (text == "inf" || text == "+inf") {
            v.number = HUGE_VAL;
        } else if (text == "-inf") {
            v.number = -HUGE_VAL;
        } else if (text == "nan" || text == "-nan") {
            v.number = std::nan("");
        } else {
            bool ok = false;
            v.number = text.toDouble(&ok);
            if (!ok)
                return fail(u"'%1' is not a double"_s.arg(snippet(line)));
        }
        return scalar(v);
    }
    case '(': {
        const QByteArrayView digits
            = line.startsWith('-') || line.startsWith('+') ? line.sliced(1) : line;
        if (digits.isEmpty() || !std::all_of(digits.begin(), digits.end(), [](char c) {
                return c >= '0' && c <= '9';
            }))
            return fail(u"'%1' is not a big number"_s.arg(snippet(line)));
        RespValue v;
        v.type = T::BigNumber;
        v.string = line.toByteArray();
        return scalar(v);
    }
    case '$':
    case '!':
    case '=': {
        qint64 n = 0;
        if (length(&n) == Status::Error)
            return Status::Error;
        if (n == -1 && kind == '$')
            return scalar(RespValue::null());
        if (n < 0)
            return fail(u"negative length %1"_s.arg(n));
        if (n > m_limits.maxBulkBytes)
            return fail(u"a bulk string of %1 bytes exceeds the limit of %2"_s.arg(n).arg(
                m_limits.maxBulkBytes));
        if (available < headerBytes + n + 2)
            return Status::NeedMore;
        if (data[headerBytes + n] != '\r' || data[headerBytes + n + 1] != '\n')
            return fail(u"a bulk string not followed by CRLF"_s);
        QByteArray payload(data + headerBytes, n);
        if (kind == '=') {
            // Verbatim string: "txt:" or "mkd:" then the text.
            if (n < 4 || payload.at(3) != ':')
                return fail(u"a verbatim string without its 3-letter format"_s);
            payload.remove(0, 4);
        }
        *out = kind == '!' ? RespValue::error(std::move(payload))
                           : RespValue::bulk(std::move(payload));
        m_pos += headerBytes + n + 2;
        return Status::Value;
    }
    case '*':
    case '~':
    case '%':
    case '>':
    case '|': {
        qint64 n = 0;
        if (length(&n) == Status::Error)
            return Status::Error;
        if (n == -1 && kind == '*')
            return scalar(RespValue::null());
        if (n < 0)
            return fail(u"negative element count %1"_s.arg(n));
        // Maps and attributes count keys and values. Compared before multiplying: a count
        // near 2^63 must fail the limit, not overflow into a small or negative one.
        const qint64 perEntry = (kind == '%' || kind == '|') ? 2 : 1;
        if (n > (m_limits.maxElements - m_elementsInReply) / perEntry)
            return fail(u"a reply of more than %1 elements"_s.arg(m_limits.maxElements));
        const qint64 elements = perEntry * n;
        if (qsizetype(m_stack.size()) >= m_limits.maxDepth)
            return fail(u"aggregates nested deeper than %1"_s.arg(m_limits.maxDepth));
        m_elementsInReply += elements;
        const T type = kind == '*' ? T::Array
            : kind == '~'          ? T::Set
            : kind == '>'          ? T::Push
                                   : T::Map;
        m_pos += headerBytes;
        if (elements == 0 && kind != '|') {
            *out = RespValue::aggregate(type, {});
            return Status::Value;
        }
        m_stack.push_back({type, elements, kind == '|', {}});
        m_stack.back().elements.reserve(size_t(std::min<qint64>(elements, 1024)));
        if (elements == 0) {
            m_stack.pop_back(); // an empty attribute: nothing to keep
            *opened = true;
            return Status::Value;
        }
        *opened = true;
        return Status::Value;
    }
    default:
        return fail(u"unexpected type byte 0x%1"_s.arg(uint(uchar(kind)), 2, 16, QChar(u'0')));
    }
}

RespParser::Status RespParser::next(RespValue *out)
{
    if (!m_error.isEmpty())
        return Status::Error;
    for (;;) {
        RespValue value;
        bool opened = false;
        const Status status = parseOne(&value, &opened);
        if (status == Status::Error)
            return status;
        if (status == Status::NeedMore) {
            // Parsed elements live on the stack, so consumed bytes can go.
            m_buffer.remove(0, m_pos);
            m_pos = 0;
            return status;
        }
        if (opened)
            continue;
        // Fold the completed value into the open aggregates.
        bool emitted = true;
        while (!m_stack.empty()) {
            Partial &top = m_stack.back();
            top.elements.push_back(std::move(value));
            if (--top.remaining > 0) {
                emitted = false;
                break;
            }
            Partial done = std::move(top);
            m_stack.pop_back();
            if (done.attribute) {
                // Attributes describe the next value; nothing here uses them.
                emitted = false;
                break;
            }
            value = RespValue::aggregate(done.type, std::move(done.elements));
        }
        if (!emitted)
            continue;
        m_elementsInReply = 0;
        *out = std::move(value);
        if (m_pos > 64 * 1024 || m_pos == m_buffer.size()) {
            m_buffer.remove(0, m_pos);
            m_pos = 0;
        }
        return Status::Value;
    }
}

QByteArray encodeCommand(const QList<QByteArray> &arguments)
{
    qsizetype size = 16;
    for (const QByteArray &a : arguments)
        size += a.size() + 16;
    QByteArray out;
    out.reserve(size);
    out += '*' + QByteArray::number(arguments.size()) + "\r\n";
    for (const QByteArray &a : arguments) {
        out += '$' + QByteArray::number(a.size()) + "\r\n";
        out += a;
        out += "\r\n";
    }
    return out;
}

QByteArray encodeCommand(std::initializer_list<QByteArrayView> arguments)
{
    QByteArray out;
    out += '*' + QByteArray::number(qsizetype(arguments.size())) + "\r\n";
    for (QByteArrayView a : arguments) {
        out += '$' + QByteArray::number(a.size()) + "\r\n";
        out += a;
        out += "\r\n";
    }
    return out;
}

} // namespace parley::server::redis
