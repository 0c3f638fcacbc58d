#include "httpresponseparser.h"

using namespace Qt::StringLiterals;

namespace parley::server::aws {

namespace {

constexpr qsizetype MaxLineBytes = 8 * 1024; // a chunk-size or trailer line

bool hasToken(QByteArrayView list, QByteArrayView token)
{
    const QList<QByteArray> items = list.toByteArray().split(',');
    for (const QByteArray &item : items) {
        if (item.trimmed().compare(token, Qt::CaseInsensitive) == 0)
            return true;
    }
    return false;
}

} // namespace

QByteArray HttpResponse::header(QByteArrayView name) const
{
    for (const auto &[headerName, value] : headers) {
        if (QByteArrayView(headerName).compare(name, Qt::CaseInsensitive) == 0)
            return value;
    }
    return {};
}

bool HttpResponseParser::fail(const QString &error)
{
    m_state = State::Failed;
    m_error = error;
    m_buffer.clear();
    return false;
}

void HttpResponseParser::complete(QList<HttpResponse> *responses)
{
    responses->append(std::move(m_current));
    m_current = {};
    m_state = State::Head;
}

bool HttpResponseParser::feed(QByteArrayView bytes, QList<HttpResponse> *responses)
{
    if (m_state == State::Failed)
        return false;
    m_buffer.append(bytes);
    qsizetype pos = 0;
    // Body bytes are taken as they come; everything else waits for its line ending.
    auto takeBody = [&] {
        const qsizetype n = qsizetype(std::min<qint64>(m_remaining, m_buffer.size() - pos));
        m_current.body.append(QByteArrayView(m_buffer).sliced(pos, n));
        pos += n;
        m_remaining -= n;
        return m_remaining == 0;
    };
    auto line = [&](qsizetype *end) {
        *end = m_buffer.indexOf("\r\n", pos);
        return *end >= 0;
    };

    bool progress = true;
    while (progress && pos < m_buffer.size()) {
        progress = false;
        qsizetype end = -1;
        switch (m_state) {
        case State::Head: {
            const qsizetype headEnd = m_buffer.indexOf("\r\n\r\n", pos);
            if (headEnd < 0) {
                if (m_buffer.size() - pos > MaxHeadBytes)
                    return fail(u"response head larger than %1 bytes"_s.arg(MaxHeadBytes));
                break;
            }
            if (headEnd - pos > MaxHeadBytes)
                return fail(u"response head larger than %1 bytes"_s.arg(MaxHeadBytes));
            const qsizetype headStart = pos;
            pos = headEnd + 4;
            if (!parseHead(headStart, headEnd))
                return false;
            if (m_state == State::Head && m_current.status >= 200)
                complete(responses); // no body: 204, 304, Content-Length: 0
            else if (m_state == State::Head)
                m_current = {}; // 1xx: an interim answer, the real one follows
            progress = true;
            break;
        }
        case State::Body:
            if (takeBody())
                complete(responses);
            progress = true;
            break;
        case State::ChunkSize: {
            if (!line(&end)) {
                if (m_buffer.size() - pos > MaxLineBytes)
                    return fail(u"chunk-size line too long"_s);
                break;
            }
            QByteArrayView size = QByteArrayView(m_buffer).sliced(pos, end - pos);
            if (const qsizetype semicolon = size.indexOf(';'); semicolon >= 0)
                size = size.first(semicolon); // chunk extensions are ignored
            bool ok = false;
            const qint64 length = size.trimmed().toLongLong(&ok, 16);
            if (!ok || length < 0)
                return fail(u"malformed chunk size"_s);
            // The body so far is within the limit; a chunk size near 2^63 must fail here
            // rather than overflow the sum into a negative one that passes.
            if (length > MaxBodyBytes - m_current.body.size())
                return fail(u"response body larger than %1 bytes"_s.arg(MaxBodyBytes));
            pos = end + 2;
            m_remaining = length;
            m_state = length == 0 ? State::Trailers : State::ChunkData;
            progress = true;
            break;
        }
        case State::ChunkData:
            if (takeBody())
                m_state = State::ChunkEnd;
            progress = true;
            break;
        case State::ChunkEnd:
            if (m_buffer.size() - pos < 2)
                break;
            if (QByteArrayView(m_buffer).sliced(pos, 2) != "\r\n")
                return fail(u"chunk not followed by CRLF"_s);
            pos += 2;
            m_state = State::ChunkSize;
            progress = true;
            break;
        case State::Trailers:
            if (!line(&end)) {
                if (m_buffer.size() - pos > MaxLineBytes)
                    return fail(u"trailer line too long"_s);
                break;
            }
            if (end == pos)
                complete(responses); // the empty line ends the trailers
            pos = end + 2;
            progress = true;
            break;
        case State::UntilClose:
            if (m_current.body.size() + (m_buffer.size() - pos) > MaxBodyBytes)
                return fail(u"response body larger than %1 bytes"_s.arg(MaxBodyBytes));
            m_current.body.append(QByteArrayView(m_buffer).sliced(pos));
            pos = m_buffer.size();
            break;
        case State::Failed:
            return false;
        }
    }
    m_buffer.remove(0, pos);
    return true;
}

bool HttpResponseParser::finish(QList<HttpResponse> *responses)
{
    if (m_state == State::UntilClose) {
        complete(responses);
        return true;
    }
    if (m_state == State::Failed)
        return false;
    if (!isIdle())
        return fail(u"connection closed in the middle of a response"_s);
    return true;
}

// The head from `start` to the empty line at `headEnd`; sets the state for what follows.
bool HttpResponseParser::parseHead(qsizetype start, qsizetype headEnd)
{
    const QList<QByteArray> lines = m_buffer.sliced(start, headEnd - start).split('\n');
    // "HTTP/1.1 200 OK"
    const QByteArray statusLine = lines.first().trimmed();
    const bool http10 = statusLine.startsWith("HTTP/1.0 ");
    if (!http10 && !statusLine.startsWith("HTTP/1.1 "))
        return fail(u"not an HTTP/1.x status line"_s);
    bool ok = false;
    const int status = statusLine.mid(9, 3).toInt(&ok);
    if (!ok || status < 100 || status > 999 || (statusLine.size() > 12 && statusLine.at(12) != ' '))
        return fail(u"malformed status line"_s);
    if (status == 101)
        return fail(u"unexpected protocol switch (HTTP 101)"_s);
    m_current = {};
    m_current.status = status;

    bool chunked = false;
    bool otherCoding = false;
    qint64 contentLength = -1;
    QByteArray connection;
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray &headerLine = lines.at(i);
        const qsizetype colon = headerLine.indexOf(':');
        if (colon <= 0 || headerLine.startsWith(' ') || headerLine.startsWith('\t'))
            return fail(u"malformed header line"_s);
        QByteArray name = headerLine.left(colon);
        QByteArray value = headerLine.mid(colon + 1).trimmed();
        if (name.compare("content-length", Qt::CaseInsensitive) == 0) {
            const qint64 length = value.toLongLong(&ok);
            if (!ok || length < 0 || (contentLength >= 0 && length != contentLength))
                return fail(u"malformed Content-Length"_s);
            contentLength = length;
        } else if (name.compare("transfer-encoding", Qt::CaseInsensitive) == 0) {
            // Chunked is the last coding when present; anything else ends with the close.
            chunked = value.toLower().endsWith("chunked");
            otherCoding = !chunked;
        } else if (name.compare("connection", Qt::CaseInsensitive) == 0) {
            connection += value + ',';
        }
        m_current.headers.append({std::move(name), std::move(value)});
    }
    m_current.closesConnection
        = hasToken(connection, "close") || (http10 && !hasToken(connection, "keep-alive"));

    m_remaining = 0;
    if (status < 200 || status == 204 || status == 304) {
        m_state = State::Head;
    } else if (chunked) {
        m_state = State::ChunkSize;
    } else if (contentLength >= 0 && !otherCoding) {
        if (contentLength > MaxBodyBytes)
            return fail(u"response body larger than %1 bytes"_s.arg(MaxBodyBytes));
        m_remaining = contentLength;
        m_state = contentLength == 0 ? State::Head : State::Body;
    } else {
        m_state = State::UntilClose;
        m_current.closesConnection = true;
    }
    return true;
}

} // namespace parley::server::aws
