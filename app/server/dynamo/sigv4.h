// AWS Signature Version 4 as a small, pure unit: no I/O, no clock (the time is an
// argument), so it is tested against AWS's published examples and cross-checked against
// botocore.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QString>
#include <QUrl>

#include <utility>

namespace parley::server::aws {

struct Credentials
{
    QString accessKeyId;
    QString secretAccessKey;
    QString sessionToken; // empty unless temporary credentials
    bool isValid() const { return !accessKeyId.isEmpty() && !secretAccessKey.isEmpty(); }
};

using Header = std::pair<QByteArray, QByteArray>; // name as sent, value

struct SigningRequest
{
    QByteArray method; // "POST"
    QUrl url; // scheme, host, port, path, query
    // Headers to sign besides host and x-amz-date (e.g. x-amz-target, content-type).
    QList<Header> headers;
    QByteArray body;
};

struct Signature
{
    QByteArray canonicalRequest;
    QByteArray stringToSign;
    QByteArray signature; // lowercase hex
    // Everything to add to the HTTP request: X-Amz-Date, X-Amz-Security-Token (when a
    // session token is set), Authorization. (Host is the URL's; Qt sends it.)
    QList<Header> headers;
};

// Signs `request` for `region` and `service` at `when` (any time zone; converted to UTC).
Signature sign(const SigningRequest &request, const Credentials &credentials, const QString &region,
    const QString &service, const QDateTime &when);

// The pieces, exposed for tests. canonicalRequest signs exactly `signedHeaders` (host and
// x-amz-date included; request.headers is not read) and reports their ';'-joined names.
QByteArray canonicalRequest(const SigningRequest &request, const QList<Header> &signedHeaders,
    QByteArray *signedHeaderNames);
QByteArray signingKey(const QString &secretAccessKey, const QByteArray &date /* yyyyMMdd */,
    const QString &region, const QString &service);

} // namespace parley::server::aws
