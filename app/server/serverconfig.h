// Configuration of `parley server`: command-line flags, PARLEY_* environment
// variables and an optional config file (key = value lines), in that order of
// precedence (flags win).
#pragma once

#include "abuseguard.h"
#include "logformat.h"

#include <QHostAddress>
#include <QString>
#include <QStringList>

#include <optional>

namespace parley::server {

enum class StoreBackend {
    Sqlite, // embedded: one SQLite file under dataDir
    DynamoDb, // shared: DynamoDB (or dynalite) over its HTTP API
};

struct ServerConfig
{
    QHostAddress listenAddress = QHostAddress::LocalHost;
    quint16 listenPort = 8443;
    StoreBackend store = StoreBackend::Sqlite;
    QString dataDir; // required for StoreBackend::Sqlite
    QString dynamodbEndpoint; // empty: from the AWS environment, else the region's endpoint
    QString dynamodbTablePrefix = QStringLiteral("parley_");
    bool createTables = false; // DynamoDB: create missing tables at start
    int searchIndexIntervalMs = 1000; // DynamoDB: new messages gather this long per index write
    int searchIndexLeaseSeconds = 60; // DynamoDB: a silent node is taken for dead after this
    QString tlsCertFile;
    QString tlsKeyFile;
    QString nodeId;
    QString redisUrl; // empty: one node on LocalBus; else RedisBus (redis:// or rediss://)
    bool allowPlaintext = false;
    QStringList allowedOrigins; // empty: any Origin (native clients send none)
    QString configFile;
    process::LogFormat logFormat = process::LogFormat::Text;
    bool checkOnly = false; // --check-config: check, print a summary, exit

    int workerThreads = 0; // 0: one per core
    int tokenTtlDays = 30;
    int minPasswordLength = 8;
    double sendBurst = 200; // per-connection send token bucket
    double sendsPerSecond = 50;
    double frameBurst = 400; // every frame, including sends
    double framesPerSecond = 200;
    int pingIntervalSeconds = 30; // every connection is pinged, dropped after two misses
    int authTimeoutSeconds = 30; // a connection with no sign-in done or under way is closed
    int tokenCheckSeconds = 60; // how often a signed-in connection's token is checked again
    int slowReaderSeconds = 30; // a connection over its output mark this long is dropped
    int drainTimeoutSeconds = 10;
    int historyLimitCap = 500;
    // Per address and per account (AbuseGuard); `abuse.exempt` defaults to loopback.
    AbuseLimits abuse;
    QList<Subnet> trustedProxies; // peers whose X-Forwarded-For names the client

    bool useTls() const { return !tlsCertFile.isEmpty() || !tlsKeyFile.isEmpty(); }
};

struct ConfigParse
{
    std::optional<ServerConfig> config; // nullopt: exit with `exitCode`
    int exitCode = 0;
    QString output; // help text or the error, one line
};

// Parses `arguments` (without the program name and mode), `environment` (e.g.
// QProcessEnvironment::systemEnvironment().toStringList()).
ConfigParse parseServerConfig(const QStringList &arguments, const QStringList &environment);
QString serverHelpText();
// Checks what every start checks before opening anything: the TLS files load and belong
// together, the plaintext rules, the syntax of URLs, names and origins.
std::optional<QString> validateServerConfig(const ServerConfig &config);

} // namespace parley::server
