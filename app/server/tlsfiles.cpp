#include "tlsfiles.h"

#include <QDateTime>
#include <QFile>
#include <QSslCertificate>
#include <QSslKey>

#include <memory>
#include <openssl/pem.h>
#include <openssl/x509.h>

using namespace Qt::StringLiterals;

namespace parley::server {

namespace {

// Qt cannot tell whether a private key belongs to a certificate (a mismatch only shows
// as failed handshakes, later); OpenSSL's X509_check_private_key can.
bool keyMatchesCertificate(const QByteArray &certPem, const QByteArray &keyPem)
{
    const std::unique_ptr<BIO, decltype(&BIO_free)> certBio(
        BIO_new_mem_buf(certPem.constData(), int(certPem.size())), BIO_free);
    const std::unique_ptr<BIO, decltype(&BIO_free)> keyBio(
        BIO_new_mem_buf(keyPem.constData(), int(keyPem.size())), BIO_free);
    if (!certBio || !keyBio)
        return false;
    const std::unique_ptr<X509, decltype(&X509_free)> leaf(
        PEM_read_bio_X509(certBio.get(), nullptr, nullptr, nullptr), X509_free);
    const std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        PEM_read_bio_PrivateKey(keyBio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
    return leaf && key && X509_check_private_key(leaf.get(), key.get()) == 1;
}

} // namespace

std::optional<QSslConfiguration> loadTlsFiles(
    const QString &certFile, const QString &keyFile, QString *error)
{
    QFile cert(certFile);
    if (!cert.open(QIODevice::ReadOnly)) {
        *error = u"cannot read certificate %1: %2"_s.arg(certFile, cert.errorString());
        return std::nullopt;
    }
    QFile key(keyFile);
    if (!key.open(QIODevice::ReadOnly)) {
        *error = u"cannot read private key %1: %2"_s.arg(keyFile, key.errorString());
        return std::nullopt;
    }
    const QByteArray certPem = cert.readAll();
    const QByteArray keyPem = key.readAll();
    const QList<QSslCertificate> chain = QSslCertificate::fromData(certPem, QSsl::Pem);
    if (chain.isEmpty()) {
        *error = u"%1 holds no PEM certificate"_s.arg(certFile);
        return std::nullopt;
    }
    QSslKey privateKey(keyPem, QSsl::Rsa);
    if (privateKey.isNull())
        privateKey = QSslKey(keyPem, QSsl::Ec);
    if (privateKey.isNull()) {
        *error = u"%1 holds no usable PEM private key (RSA or EC, without a passphrase)"_s.arg(
            keyFile);
        return std::nullopt;
    }
    if (!keyMatchesCertificate(certPem, keyPem)) {
        *error
            = u"the private key %1 does not belong to the certificate %2"_s.arg(keyFile, certFile);
        return std::nullopt;
    }
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setLocalCertificateChain(chain);
    tls.setPrivateKey(privateKey);
    tls.setPeerVerifyMode(QSslSocket::VerifyNone); // clients authenticate with passwords/tokens
    tls.setProtocol(QSsl::TlsV1_2OrLater);
    return tls;
}

QString describeCertificate(const QSslCertificate &certificate)
{
    const QStringList names = certificate.subjectInfo(QSslCertificate::CommonName);
    const QByteArray digest = certificate.digest(QCryptographicHash::Sha256).toHex(':').toUpper();
    return u"CN=%1, SHA-256 %2, valid until %3"_s.arg(names.value(0, u"(none)"_s),
        QString::fromLatin1(digest), certificate.expiryDate().toUTC().toString(Qt::ISODate));
}

} // namespace parley::server
