#include "configcheck.h"

#include "awsconfig.h"
#include "redisurl.h"
#include "tlsfiles.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QSslCertificate>
#include <QTemporaryFile>

using namespace Qt::StringLiterals;

namespace parley::server {

namespace {

// Writing is what the store will do, so write: permission bits alone miss read-only
// mounts, and say nothing when running as root.
QString probeWritable(const QString &dir)
{
    QTemporaryFile probe(QDir(dir).filePath(u".parley-check-XXXXXX"_s));
    if (!probe.open())
        return probe.errorString();
    return {};
}

QString listenSummary(const ServerConfig &config)
{
    const QString host = config.listenAddress.protocol() == QAbstractSocket::IPv6Protocol
        ? u"[%1]"_s.arg(config.listenAddress.toString())
        : config.listenAddress.toString();
    return u"listen: %1://%2:%3/ws, %4 socket threads"_s
        .arg(config.useTls() ? u"wss"_s : u"ws"_s, host)
        .arg(config.listenPort)
        .arg(config.workerThreads);
}

} // namespace

QString dataDirProblem(const QString &dir)
{
    const QFileInfo info(dir);
    if (info.exists()) {
        if (!info.isDir())
            return u"data dir %1 is not a directory"_s.arg(dir);
        if (const QString why = probeWritable(dir); !why.isEmpty())
            return u"data dir %1 is not writable: %2"_s.arg(dir, why);
        const QFileInfo database(QDir(dir).filePath(u"parley.sqlite3"_s));
        if (database.exists() && (!database.isFile() || !database.isWritable()))
            return u"%1 is not a writable file"_s.arg(database.filePath());
        return {};
    }
    // To be created: its nearest existing ancestor must be a directory we may write in.
    QString ancestor = info.absoluteFilePath();
    do {
        ancestor = QFileInfo(ancestor).path();
    } while (!QFileInfo::exists(ancestor) && ancestor != QDir::rootPath());
    if (!QFileInfo(ancestor).isDir())
        return u"data dir %1 cannot be created: %2 is not a directory"_s.arg(dir, ancestor);
    if (const QString why = probeWritable(ancestor); !why.isEmpty())
        return u"data dir %1 cannot be created in %2: %3"_s.arg(dir, ancestor, why);
    return {};
}

ConfigCheck checkServerConfig(
    const ServerConfig &config, const QProcessEnvironment &environment, const QString &homeDir)
{
    ConfigCheck check;
    if (!config.configFile.isEmpty())
        check.summary += u"config file: "_s + QFileInfo(config.configFile).absoluteFilePath();
    check.summary += listenSummary(config);

    if (config.useTls()) {
        QString error;
        if (const auto tls = loadTlsFiles(config.tlsCertFile, config.tlsKeyFile, &error)) {
            const QSslCertificate leaf = tls->localCertificate();
            check.summary += u"tls: %1 (%2 in the chain)"_s.arg(describeCertificate(leaf))
                                 .arg(tls->localCertificateChain().size());
            if (leaf.expiryDate() < QDateTime::currentDateTimeUtc())
                check.errors += u"the certificate %1 expired on %2"_s.arg(
                    config.tlsCertFile, leaf.expiryDate().toUTC().toString(Qt::ISODate));
        } else {
            check.errors += error;
        }
    } else {
        check.summary
            += u"tls: off"_s + (config.allowPlaintext ? u" (--allow-plaintext)"_s : QString());
    }

    if (config.store == StoreBackend::Sqlite) {
        if (const QString problem = dataDirProblem(config.dataDir); !problem.isEmpty())
            check.errors += problem;
        check.summary
            += u"store: sqlite in %1%2"_s.arg(QFileInfo(config.dataDir).absoluteFilePath(),
                QFileInfo::exists(config.dataDir) ? QString() : u" (to be created)"_s);
    } else {
        const auto resolved
            = aws::resolveAwsSettings(environment, homeDir, config.dynamodbEndpoint);
        if (const QString *problem = std::get_if<QString>(&resolved)) {
            check.errors += *problem;
        } else {
            const aws::AwsSettings &aws = std::get<aws::AwsSettings>(resolved);
            check.summary += u"store: DynamoDB at %1, region %2, tables %3*, credentials from "
                             "%4%5"_s.arg(aws.endpoint.toString(), aws.region,
                                 config.dynamodbTablePrefix, aws.credentialsSource,
                                 config.createTables ? u", creating missing tables"_s : QString());
        }
    }

    if (config.redisUrl.isEmpty()) {
        check.summary += u"bus: local (this node alone), node %1"_s.arg(config.nodeId);
    } else {
        QString error;
        if (const auto url = redis::parseRedisUrl(config.redisUrl, &error))
            check.summary += u"bus: Redis at %1, node %2"_s.arg(url->redacted(), config.nodeId);
        else
            check.errors += error;
    }
    auto subnetList = [](const QList<Subnet> &subnets) {
        QStringList parts;
        for (const Subnet &subnet : subnets)
            parts += u"%1/%2"_s.arg(subnet.first.toString()).arg(subnet.second);
        return parts.isEmpty() ? u"none"_s : parts.join(u", "_s);
    };
    const AbuseLimits &abuse = config.abuse;
    check.summary
        += u"client addresses: the peer's%1; limits exempt %2"_s.arg(config.trustedProxies.isEmpty()
                ? QString()
                : u", or X-Forwarded-For from %1"_s.arg(subnetList(config.trustedProxies)),
            subnetList(abuse.exempt));
    check.summary += u"limits per address: %1 connections, %2 failed sign-ins/min, %3 "
                     u"registrations/min; per account: %4 failed sign-ins/min"_s
                         .arg(abuse.connectionsPerAddress)
                         .arg(abuse.signInFailuresPerAddress)
                         .arg(abuse.registrationsPerAddress)
                         .arg(abuse.signInFailuresPerAccount);
    check.summary += u"log format: "_s + process::logFormatName(config.logFormat);
    return check;
}

} // namespace parley::server
