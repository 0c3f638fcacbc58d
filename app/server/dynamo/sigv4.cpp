#include "sigv4.h"

#include <QCryptographicHash>
#include <QMessageAuthenticationCode>
#include <QTimeZone>

#include <algorithm>

namespace parley::server::aws {

namespace {

constexpr QByteArrayView algorithm = "AWS4-HMAC-SHA256";

QByteArray hmac(const QByteArray &key, const QByteArray &message)
{
    return QMessageAuthenticationCode::hash(message, key, QCryptographicHash::Sha256);
}

QByteArray sha256Hex(const QByteArray &data)
{
    return QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex();
}

// RFC 3986 unreserved characters stay, everything else becomes %XX (uppercase hex):
// QByteArray::toPercentEncoding() with no exceptions does exactly that.
QByteArray uriEncode(const QByteArray &bytes)
{
    return bytes.toPercentEncoding();
}

// The path as Qt puts it on the wire, with dot segments and repeated slashes removed,
// and each segment encoded once more: AWS's rule for every service but S3 (and what
// botocore does), so "a%20b" is signed as "a%2520b".
QByteArray canonicalUri(const QUrl &url)
{
    const QByteArray path = url.path(QUrl::FullyEncoded).toUtf8();
    QList<QByteArray> segments;
    for (const QByteArray &segment : path.split('/')) {
        if (segment.isEmpty() || segment == ".")
            continue;
        if (segment == "..") {
            if (!segments.isEmpty())
                segments.removeLast();
            continue;
        }
        segments.append(uriEncode(segment));
    }
    QByteArray result = '/' + segments.join('/');
    if (!segments.isEmpty() && path.endsWith('/'))
        result += '/';
    return result;
}

// Names and values are decoded from the wire form and re-encoded with the unreserved
// set, then sorted by name and value; a parameter without '=' gets an empty value.
QByteArray canonicalQuery(const QUrl &url)
{
    const QByteArray query = url.query(QUrl::FullyEncoded).toUtf8();
    if (query.isEmpty())
        return {};
    QList<std::pair<QByteArray, QByteArray>> parameters;
    for (const QByteArray &item : query.split('&')) {
        if (item.isEmpty())
            continue;
        const qsizetype equals = item.indexOf('=');
        const QByteArray name = equals < 0 ? item : item.left(equals);
        const QByteArray value = equals < 0 ? QByteArray() : item.mid(equals + 1);
        parameters.append({uriEncode(QByteArray::fromPercentEncoding(name)),
            uriEncode(QByteArray::fromPercentEncoding(value))});
    }
    std::sort(parameters.begin(), parameters.end());
    QByteArray result;
    for (const auto &[name, value] : std::as_const(parameters)) {
        if (!result.isEmpty())
            result += '&';
        result += name + '=' + value;
    }
    return result;
}

// What Qt sends as Host: the host (IPv6 in brackets) and the port unless it is the
// scheme's default.
QByteArray hostHeader(const QUrl &url)
{
    QByteArray host = url.host(QUrl::FullyEncoded).toUtf8();
    if (host.contains(':'))
        host = '[' + host + ']';
    const int defaultPort = url.scheme() == QLatin1String("https") ? 443 : 80;
    const int port = url.port(defaultPort);
    if (port != defaultPort)
        host += ':' + QByteArray::number(port);
    return host;
}

bool isOwnedBySigner(const QByteArray &lowerName)
{
    return lowerName == "host" || lowerName == "x-amz-date" || lowerName == "x-amz-security-token"
        || lowerName == "authorization";
}

} // namespace

QByteArray canonicalRequest(const SigningRequest &request, const QList<Header> &signedHeaders,
    QByteArray *signedHeaderNames)
{
    // Group values by lowercase name, keeping the order in which repeated headers came:
    // repeated headers are joined with ',' as on the wire.
    QList<std::pair<QByteArray, QByteArray>> headers;
    for (const auto &[name, value] : signedHeaders) {
        const QByteArray lowerName = name.trimmed().toLower();
        const QByteArray trimmedValue = value.simplified();
        const auto existing = std::find_if(headers.begin(), headers.end(),
            [&lowerName](const auto &header) { return header.first == lowerName; });
        if (existing != headers.end())
            existing->second += ',' + trimmedValue;
        else
            headers.append({lowerName, trimmedValue});
    }
    std::stable_sort(headers.begin(), headers.end(),
        [](const auto &a, const auto &b) { return a.first < b.first; });

    QByteArray canonicalHeaders;
    QByteArrayList names;
    for (const auto &[name, value] : std::as_const(headers)) {
        canonicalHeaders += name + ':' + value + '\n';
        names.append(name);
    }
    const QByteArray joinedNames = names.join(';');
    if (signedHeaderNames)
        *signedHeaderNames = joinedNames;

    return request.method.toUpper() + '\n' + canonicalUri(request.url) + '\n'
        + canonicalQuery(request.url) + '\n' + canonicalHeaders + '\n' + joinedNames + '\n'
        + sha256Hex(request.body);
}

QByteArray signingKey(const QString &secretAccessKey, const QByteArray &date, const QString &region,
    const QString &service)
{
    QByteArray key = hmac("AWS4" + secretAccessKey.toUtf8(), date);
    key = hmac(key, region.toUtf8());
    key = hmac(key, service.toUtf8());
    return hmac(key, "aws4_request");
}

Signature sign(const SigningRequest &request, const Credentials &credentials, const QString &region,
    const QString &service, const QDateTime &when)
{
    const QDateTime utc = when.toTimeZone(QTimeZone::utc());
    const QByteArray amzDate = utc.toString(u"yyyyMMdd'T'HHmmss'Z'").toLatin1();
    const QByteArray date = amzDate.left(8);

    QList<Header> signedHeaders;
    for (const Header &header : request.headers) {
        if (!isOwnedBySigner(header.first.trimmed().toLower()))
            signedHeaders.append(header);
    }
    signedHeaders.append({"host", hostHeader(request.url)});
    signedHeaders.append({"x-amz-date", amzDate});
    if (!credentials.sessionToken.isEmpty())
        signedHeaders.append({"x-amz-security-token", credentials.sessionToken.toUtf8()});

    Signature result;
    QByteArray signedHeaderNames;
    result.canonicalRequest = canonicalRequest(request, signedHeaders, &signedHeaderNames);

    const QByteArray scope
        = date + '/' + region.toUtf8() + '/' + service.toUtf8() + "/aws4_request";
    result.stringToSign = algorithm.toByteArray() + '\n' + amzDate + '\n' + scope + '\n'
        + sha256Hex(result.canonicalRequest);
    result.signature
        = hmac(signingKey(credentials.secretAccessKey, date, region, service), result.stringToSign)
              .toHex();

    result.headers.append({"X-Amz-Date", amzDate});
    if (!credentials.sessionToken.isEmpty())
        result.headers.append({"X-Amz-Security-Token", credentials.sessionToken.toUtf8()});
    result.headers.append({"Authorization",
        algorithm.toByteArray() + " Credential=" + credentials.accessKeyId.toUtf8() + '/' + scope
            + ", SignedHeaders=" + signedHeaderNames + ", Signature=" + result.signature});
    return result;
}

} // namespace parley::server::aws
