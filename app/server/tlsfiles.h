// The server's TLS certificate chain and private key, read from their PEM files: at
// start, by --check-config and on every reload (SIGHUP).
#pragma once

#include <QSslConfiguration>
#include <QString>

#include <optional>

namespace parley::server {

// The server-side TLS configuration of `certFile` (a PEM chain, leaf first) and
// `keyFile` (a PEM RSA or EC private key without a passphrase). nullopt, with a one-line
// `error` naming the file, when either cannot be read or parsed, or when the key is not
// the certificate's (every handshake would fail).
std::optional<QSslConfiguration> loadTlsFiles(
    const QString &certFile, const QString &keyFile, QString *error);

// "CN=chat.example.org, SHA-256 AB:CD:..., valid until 2027-02-21T10:00:00Z": for logs
// and the --check-config summary (nothing secret).
QString describeCertificate(const QSslCertificate &certificate);

} // namespace parley::server
