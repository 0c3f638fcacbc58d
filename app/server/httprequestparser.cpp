#include "httprequestparser.h"

using namespace Qt::StringLiterals;

namespace parley::server {

namespace {

// RFC 9110 section 5.6.2.
bool isTokenChar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

bool isToken(QByteArrayView s)
{
    if (s.isEmpty())
        return false;
    for (char c : s) {
        if (!isTokenChar(c))
            return false;
    }
    return true;
}

bool isControl(char c)
{
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

char asciiLower(char c)
{
    return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
}

bool equalsIgnoringCase(QByteArrayView a, QByteArrayView b)
{
    if (a.size() != b.size())
        return false;
    for (qsizetype i = 0; i < a.size(); ++i) {
        if (asciiLower(a[i]) != asciiLower(b[i]))
            return false;
    }
    return true;
}

// Whether a comma-separated header value lists token (e.g. "keep-alive, Upgrade").
bool listContainsToken(QByteArrayView list, QByteArrayView token)
{
    qsizetype start = 0;
    while (start <= list.size()) {
        qsizetype comma = list.indexOf(',', start);
        if (comma < 0)
            comma = list.size();
        if (equalsIgnoringCase(list.sliced(start, comma - start).trimmed(), token))
            return true;
        start = comma + 1;
    }
    return false;
}

} // namespace

HttpRequestParser::State HttpRequestParser::feed(QByteArrayView bytes)
{
    if (m_state != State::NeedMore)
        return m_state;

    qsizetype pos = 0;
    while (pos < bytes.size()) {
        const qsizetype lf = bytes.indexOf('\n', pos);
        if (lf < 0) {
            // Limits are checked before buffering, so a peer that never ends a
            // line cannot make us hold more than they allow. A trailing CR may
            // be the start of the line ending, so it is not counted yet.
            const QByteArrayView rest = bytes.sliced(pos);
            const qsizetype content = m_line.size() + rest.size() - (rest.endsWith('\r') ? 1 : 0);
            if (!withinLimits(content, m_consumed + rest.size()))
                return m_state;
            m_line.append(rest);
            m_consumed += rest.size();
            return State::NeedMore;
        }

        const QByteArrayView piece = bytes.sliced(pos, lf + 1 - pos);
        const bool crlf
            = piece.size() >= 2 ? piece[piece.size() - 2] == '\r' : m_line.endsWith('\r');
        const qsizetype content = m_line.size() + piece.size() - (crlf ? 2 : 1);
        if (!withinLimits(content, m_consumed + piece.size()))
            return m_state;
        m_consumed += piece.size();
        pos = lf + 1;

        QByteArrayView line = piece;
        if (!m_line.isEmpty()) {
            m_line.append(piece);
            line = m_line;
        }
        line.chop(crlf ? 2 : 1);
        const State s = processLine(line);
        m_line.clear();
        if (s != State::NeedMore)
            return s;
    }
    return State::NeedMore;
}

void HttpRequestParser::reset()
{
    *this = HttpRequestParser();
}

bool HttpRequestParser::withinLimits(qsizetype lineContentBytes, qsizetype headBytes)
{
    if (m_stage == Stage::RequestLine && lineContentBytes > MaxRequestLineBytes) {
        fail(414, u"Request line longer than %1 bytes"_s.arg(MaxRequestLineBytes));
        return false;
    }
    if (headBytes > MaxHeadBytes) {
        fail(431, u"Request head larger than %1 bytes"_s.arg(MaxHeadBytes));
        return false;
    }
    return true;
}

HttpRequestParser::State HttpRequestParser::fail(int status, QString message)
{
    m_state = State::Error;
    m_errorStatus = status;
    m_errorMessage = std::move(message);
    return m_state;
}

HttpRequestParser::State HttpRequestParser::processLine(QByteArrayView line)
{
    for (char c : line) {
        // HTAB is allowed inside header values only; a CR left inside the line
        // (not before its LF) is a bare CR, which RFC 9112 forbids.
        if (isControl(c) && !(c == '\t' && m_stage == Stage::Headers))
            return fail(400, u"Control character in request head"_s);
    }
    if (m_stage == Stage::RequestLine) {
        // RFC 9112 section 2.2: ignore empty lines before the request line.
        if (line.isEmpty())
            return State::NeedMore;
        return parseRequestLine(line);
    }
    if (line.isEmpty())
        return finishHead();
    return parseHeaderLine(line);
}

HttpRequestParser::State HttpRequestParser::parseRequestLine(QByteArrayView line)
{
    // method SP request-target SP HTTP-version, single spaces only.
    const qsizetype sp1 = line.indexOf(' ');
    const qsizetype sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
    if (sp1 <= 0 || sp2 < 0 || sp2 == sp1 + 1 || sp2 == line.size() - 1
        || line.indexOf(' ', sp2 + 1) >= 0) {
        return fail(400, u"Malformed request line"_s);
    }
    const QByteArrayView method = line.first(sp1);
    const QByteArrayView target = line.sliced(sp1 + 1, sp2 - sp1 - 1);
    const QByteArrayView version = line.sliced(sp2 + 1);

    if (!isToken(method))
        return fail(400, u"Malformed request method"_s);

    const auto isDigit = [](char c) { return c >= '0' && c <= '9'; };
    if (version.size() != 8 || !version.startsWith("HTTP/") || !isDigit(version[5])
        || version[6] != '.' || !isDigit(version[7])) {
        return fail(400, u"Malformed HTTP version"_s);
    }
    if (version != "HTTP/1.1" && version != "HTTP/1.0")
        return fail(505, u"Only HTTP/1.0 and HTTP/1.1 are supported"_s);

    for (char c : target) {
        // Visible ASCII only (no fragment): anything else must be percent-encoded.
        if (static_cast<unsigned char>(c) > 0x7e || c == '#')
            return fail(400, u"Invalid character in request target"_s);
    }

    QByteArrayView pathAndQuery;
    if (target.startsWith('/')) {
        pathAndQuery = target;
    } else if (target == "*") {
        pathAndQuery = target;
    } else if (const qsizetype scheme = target.indexOf("://");
               scheme > 0 && isToken(target.first(scheme))) {
        // Absolute form, which RFC 9112 says servers must accept (proxies send it).
        const qsizetype authorityStart = scheme + 3;
        qsizetype pathStart = authorityStart;
        while (pathStart < target.size() && target[pathStart] != '/' && target[pathStart] != '?')
            ++pathStart;
        if (pathStart == authorityStart)
            return fail(400, u"Missing host in absolute request target"_s);
        pathAndQuery = target.sliced(pathStart);
    } else {
        return fail(400, u"Unsupported request target"_s);
    }

    if (const qsizetype q = pathAndQuery.indexOf('?'); q >= 0) {
        m_path = pathAndQuery.first(q).toByteArray();
        m_query = pathAndQuery.sliced(q + 1).toByteArray();
    } else {
        m_path = pathAndQuery.toByteArray();
    }
    if (m_path.isEmpty())
        m_path = "/";

    m_method = method.toByteArray();
    m_target = target.toByteArray();
    m_version = version.toByteArray();
    m_stage = Stage::Headers;
    return State::NeedMore;
}

HttpRequestParser::State HttpRequestParser::parseHeaderLine(QByteArrayView line)
{
    if (line.front() == ' ' || line.front() == '\t')
        return fail(400, u"Obsolete header line folding"_s);
    const qsizetype colon = line.indexOf(':');
    if (colon < 0)
        return fail(400, u"Header line without a colon"_s);
    // Also rejects whitespace before the colon (RFC 9112 section 5.1).
    if (!isToken(line.first(colon)))
        return fail(400, u"Invalid header name"_s);
    if (m_headers.size() >= MaxHeaders)
        return fail(431, u"More than %1 header fields"_s.arg(MaxHeaders));
    m_headers.append(
        {line.first(colon).toByteArray(), line.sliced(colon + 1).trimmed().toByteArray()});
    return State::NeedMore;
}

HttpRequestParser::State HttpRequestParser::finishHead()
{
    int hosts = 0;
    for (const Header &h : std::as_const(m_headers)) {
        if (equalsIgnoringCase(h.name, "host"))
            ++hosts;
    }
    // RFC 9112 section 3.2: a server must answer 400 to these.
    if (hosts > 1)
        return fail(400, u"More than one Host header"_s);
    if (hosts == 0 && m_version == "HTTP/1.1")
        return fail(400, u"Missing Host header"_s);

    // We never read request bodies; refusing them here keeps body bytes from
    // being mistaken for whatever follows the head.
    if (hasHeader("transfer-encoding"))
        return fail(413, u"Request bodies are not accepted"_s);
    if (hasHeader("content-length")) {
        const QByteArray lengths = header("content-length");
        bool zero = true;
        qsizetype start = 0;
        while (start <= lengths.size()) {
            qsizetype comma = lengths.indexOf(',', start);
            if (comma < 0)
                comma = lengths.size();
            const QByteArrayView value
                = QByteArrayView(lengths).sliced(start, comma - start).trimmed();
            if (value.isEmpty())
                return fail(400, u"Invalid Content-Length"_s);
            for (char c : value) {
                if (c < '0' || c > '9')
                    return fail(400, u"Invalid Content-Length"_s);
                if (c != '0')
                    zero = false;
            }
            start = comma + 1;
        }
        if (!zero)
            return fail(413, u"Request bodies are not accepted"_s);
    }

    m_state = State::Complete;
    return m_state;
}

QByteArray HttpRequestParser::header(QByteArrayView name) const
{
    QByteArray joined;
    bool found = false;
    for (const Header &h : m_headers) {
        if (!equalsIgnoringCase(h.name, name))
            continue;
        if (found)
            joined += ", ";
        joined += h.value;
        found = true;
    }
    return joined;
}

bool HttpRequestParser::hasHeader(QByteArrayView name) const
{
    for (const Header &h : m_headers) {
        if (equalsIgnoringCase(h.name, name))
            return true;
    }
    return false;
}

bool HttpRequestParser::isWebSocketUpgrade() const
{
    return m_state == State::Complete && m_method == "GET" && m_version == "HTTP/1.1"
        && listContainsToken(header("connection"), "upgrade")
        && equalsIgnoringCase(header("upgrade"), "websocket")
        && !header("sec-websocket-key").isEmpty();
}

QByteArray HttpRequestParser::response(
    int status, QByteArrayView contentType, QByteArrayView body, bool close)
{
    QByteArray out;
    out.reserve(160 + contentType.size() + body.size());
    out += "HTTP/1.1 ";
    out += QByteArray::number(status);
    out += ' ';
    out += reasonPhrase(status);
    out += "\r\n";
    if (!contentType.isEmpty()) {
        out += "Content-Type: ";
        out += contentType;
        out += "\r\n";
    }
    out += "Content-Length: ";
    out += QByteArray::number(body.size());
    out += "\r\nCache-Control: no-store\r\n";
    if (close)
        out += "Connection: close\r\n";
    out += "\r\n";
    out += body;
    return out;
}

QByteArrayView HttpRequestParser::reasonPhrase(int status)
{
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        // The reason phrase is optional (RFC 9112 section 4); clients ignore it.
        return "";
    }
}

} // namespace parley::server
