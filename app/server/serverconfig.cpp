#include "serverconfig.h"

#include "redisurl.h"
#include "tlsfiles.h"

#include <QCommandLineParser>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QRegularExpression>
#include <QThread>
#include <QUrl>

using namespace Qt::StringLiterals;

namespace parley::server {

namespace {

// One row per setting: the flag, its environment variable and its config-file
// key are derived from one name so they can never drift apart.
struct Option
{
    QString name; // flag without dashes; config key; env PARLEY_<NAME_UPPER>
    QString valueName; // empty: a boolean switch
    QString description;
    bool repeatable = false;
    bool flagOnly = false; // a command-line switch only: no environment variable, no key
};

const QList<Option> &options()
{
    static const QList<Option> list = {
        {u"listen"_s, u"HOST:PORT"_s,
            u"Address and port to listen on (default 127.0.0.1:8443). HTTP (/healthz, /readyz, "
            "/metrics) and WebSocket (/ws) share it."_s},
        {u"store"_s, u"sqlite|dynamodb"_s,
            u"Durable store: sqlite (embedded, default) or dynamodb (shared by several nodes; "
            "region and credentials from the usual AWS_* variables or ~/.aws)."_s},
        {u"data-dir"_s, u"DIR"_s, u"Directory of the embedded store (required with sqlite)."_s},
        {u"dynamodb-endpoint"_s, u"URL"_s,
            u"DynamoDB endpoint, e.g. http://127.0.0.1:8000 for a local one (default: "
            "AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, else the region's)."_s},
        {u"dynamodb-table-prefix"_s, u"PREFIX"_s,
            u"Prefix of the DynamoDB table names (default parley_)."_s},
        {u"create-tables"_s, {},
            u"Create missing DynamoDB tables and wait until they are ACTIVE (existing tables "
            "are kept)."_s},
        {u"search-index-interval"_s, u"MS"_s,
            u"DynamoDB: index new messages for search this often; longer gathers more "
            u"messages per index write (default 1000)."_s},
        {u"search-index-lease"_s, u"SECONDS"_s,
            u"DynamoDB: a node silent this long is taken for dead and another one sweeps its "
            u"conversations' search index (default 60)."_s},
        {u"tls-cert"_s, u"FILE"_s, u"PEM certificate chain; enables TLS (wss://, https://)."_s},
        {u"tls-key"_s, u"FILE"_s, u"PEM private key of --tls-cert."_s},
        {u"node-id"_s, u"ID"_s,
            u"Name of this node in hello frames and /healthz (default: host name); unique "
            "among the nodes sharing a Redis."_s},
        {u"redis"_s, u"URL"_s,
            u"Run as one of several nodes with Redis as the bus between them: "
            "redis://[user:password@]host:port[/db], or rediss:// for TLS (default: "
            "REDIS_URL; without it the node runs alone)."_s},
        {u"allow-plaintext"_s, {}, u"Serve ws:// on a non-loopback address without TLS."_s},
        {u"allowed-origin"_s, u"ORIGIN"_s,
            u"Accept WebSocket upgrades only from this Origin (repeatable; requests without an "
            "Origin header, as native clients send, are always accepted)."_s,
            true},
        {u"config"_s, u"FILE"_s,
            u"Read settings from FILE: lines of `key = value`, keys as the flags."_s},
        {u"check-config"_s, {},
            u"Check the whole configuration without serving (TLS files, data dir, DynamoDB "
            "settings, Redis URL; nothing is opened, bound or connected to), print a summary "
            "and exit: 0 if it is usable, 2 if not."_s,
            false, true},
        {u"log-format"_s, u"text|json"_s,
            u"Log lines on stderr: text (default) or json, one JSON object per line."_s},
        {u"threads"_s, u"N"_s, u"Socket event-loop threads (default: one per core)."_s},
        {u"token-ttl-days"_s, u"DAYS"_s, u"Lifetime of session tokens (default 30)."_s},
        {u"min-password-length"_s, u"N"_s,
            u"Shortest password accepted at registration (default 8)."_s},
        {u"send-burst"_s, u"N"_s, u"Sends a connection may burst (default 200)."_s},
        {u"send-rate"_s, u"N"_s, u"Sustained sends per second per connection (default 50)."_s},
        {u"frame-burst"_s, u"N"_s, u"Frames of any kind a connection may burst (default 400)."_s},
        {u"frame-rate"_s, u"N"_s, u"Sustained frames per second per connection (default 200)."_s},
        {u"ping-interval"_s, u"SECONDS"_s,
            u"Ping every connection this often; drop it after two missed pongs (default 30)."_s},
        {u"auth-timeout"_s, u"SECONDS"_s,
            u"Close a connection that has not signed in this long after connecting, unless a "
            u"sign-in is under way (default 30)."_s},
        {u"token-check-interval"_s, u"SECONDS"_s,
            u"Check each signed-in connection's token in the store this often, so that a "
            u"sign-out reaches it even if the bus lost the news (default 60)."_s},
        {u"slow-reader-timeout"_s, u"SECONDS"_s,
            u"Drop a connection whose unread replies stay over 256 KiB this long (its requests "
            u"are not read meanwhile; over 4 MiB it is dropped at once; default 30)."_s},
        {u"trusted-proxy"_s, u"ADDRESS[/BITS]"_s,
            u"A reverse proxy whose X-Forwarded-For header names the client (repeatable). "
            u"Without it the peer's own address is the client's, whatever the header says."_s,
            true},
        {u"max-connections-per-address"_s, u"N"_s,
            u"Open WebSocket connections one client address may hold; further upgrades get "
            u"HTTP 429 (IPv6 counted per /64; 0: no cap; default 4096)."_s},
        {u"signin-failures-per-address"_s, u"N"_s,
            u"Failed logins one address may make per minute before its logins are refused "
            u"with rate_limited (0: no limit; default 30)."_s},
        {u"signin-failures-per-account"_s, u"N"_s,
            u"Failed logins per minute into one account from addresses it has not signed in "
            u"from in the last day (0: no limit; default 5)."_s},
        {u"registrations-per-address"_s, u"N"_s,
            u"Registrations one address may make per minute (0: no limit; default 5)."_s},
        {u"limit-exempt"_s, u"ADDRESS[/BITS]|none"_s,
            u"Addresses the per-address and per-account limits do not apply to (repeatable; "
            u"default: loopback, 127.0.0.0/8 and ::1; `none` exempts nothing)."_s,
            true},
        {u"drain-timeout"_s, u"SECONDS"_s,
            u"On SIGTERM, wait this long for in-flight writes before closing (default 10)."_s},
    };
    return list;
}

QString envName(const QString &name)
{
    return u"PARLEY_"_s + name.toUpper().replace(u'-', u'_');
}

bool parseHostPort(const QString &text, QHostAddress *host, quint16 *port)
{
    const qsizetype colon = text.lastIndexOf(u':');
    if (colon <= 0)
        return false;
    QString hostPart = text.left(colon);
    if (hostPart.startsWith(u'[') && hostPart.endsWith(u']'))
        hostPart = hostPart.mid(1, hostPart.size() - 2);
    bool ok = false;
    const uint p = text.mid(colon + 1).toUInt(&ok);
    if (!ok || p > 65535)
        return false;
    QHostAddress address;
    if (hostPart == u"localhost"_s)
        address = QHostAddress::LocalHost;
    else if (hostPart == u"*"_s || hostPart == u"0.0.0.0"_s)
        address = QHostAddress::AnyIPv4;
    else if (!address.setAddress(hostPart))
        return false;
    *host = address;
    *port = quint16(p);
    return true;
}

// key -> values, from a `key = value` file. Returns an error line on failure.
std::optional<QString> readConfigFile(const QString &path, QHash<QString, QStringList> *values)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text))
        return u"cannot read config file %1: %2"_s.arg(path, file.errorString());
    int lineNo = 0;
    while (!file.atEnd()) {
        ++lineNo;
        const QString line = QString::fromUtf8(file.readLine()).trimmed();
        if (line.isEmpty() || line.startsWith(u'#'))
            continue;
        const qsizetype eq = line.indexOf(u'=');
        const QString key = (eq < 0 ? line : line.left(eq)).trimmed();
        const QString value = eq < 0 ? u"true"_s : line.mid(eq + 1).trimmed();
        const bool known = std::any_of(options().begin(), options().end(),
            [&](const Option &o) { return o.name == key && !o.flagOnly; });
        if (!known || key == u"config"_s)
            return u"%1:%2: unknown setting '%3'"_s.arg(path).arg(lineNo).arg(key);
        (*values)[key].append(value);
    }
    return std::nullopt;
}

bool isTrue(const QString &value)
{
    const QString v = value.toLower();
    return v == u"1"_s || v == u"true"_s || v == u"yes"_s || v == u"on"_s;
}

} // namespace

QString serverHelpText()
{
    QString text = u"Usage: parley server [options]\n\n"
                   "Runs the Parley chat server: WebSocket chat on /ws, /healthz, /readyz and "
                   "/metrics over HTTP, all on one port.\n\nOptions:\n"_s;
    for (const Option &o : options()) {
        QString flag = u"  --"_s + o.name;
        if (!o.valueName.isEmpty())
            flag += u' ' + o.valueName;
        text += flag.leftJustified(32) + u' ' + o.description + u"\n"_s;
        if (!o.flagOnly)
            text += QString(34, u' ') + u"env: "_s + envName(o.name) + u"\n"_s;
    }
    text += u"  -h, --help                       Show this help.\n\n"
            "Flags win over environment variables, which win over the config file.\n"_s;
    return text;
}

ConfigParse parseServerConfig(const QStringList &arguments, const QStringList &environment)
{
    ConfigParse result;
    QCommandLineParser parser;
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    const QCommandLineOption help(QStringList {u"h"_s, u"help"_s});
    parser.addOption(help);
    for (const Option &o : options())
        parser.addOption(QCommandLineOption(o.name, o.description, o.valueName));

    if (!parser.parse(QStringList {u"parley-server"_s} + arguments)) {
        result.exitCode = 2;
        result.output
            = u"parley server: "_s + parser.errorText() + u" (see parley server --help)"_s;
        return result;
    }
    if (parser.isSet(help)) {
        result.output = serverHelpText();
        return result;
    }
    if (!parser.positionalArguments().isEmpty()) {
        result.exitCode = 2;
        result.output = u"parley server: unexpected argument '%1' (see parley server --help)"_s.arg(
            parser.positionalArguments().constFirst());
        return result;
    }

    QHash<QString, QString> env;
    for (const QString &entry : environment) {
        const qsizetype eq = entry.indexOf(u'=');
        if (eq > 0)
            env.insert(entry.left(eq), entry.mid(eq + 1));
    }

    // Lowest precedence first: config file, then environment, then flags.
    QHash<QString, QStringList> values;
    QString configPath = parser.value(u"config"_s);
    if (configPath.isEmpty())
        configPath = env.value(envName(u"config"_s));
    if (!configPath.isEmpty()) {
        if (auto error = readConfigFile(configPath, &values)) {
            result.exitCode = 2;
            result.output = u"parley server: "_s + *error;
            return result;
        }
    }
    for (const Option &o : options()) {
        const auto it = o.flagOnly ? env.constEnd() : env.constFind(envName(o.name));
        if (it != env.constEnd() && !it->isEmpty())
            values[o.name] = o.repeatable ? it->split(u',', Qt::SkipEmptyParts) : QStringList {*it};
        if (parser.isSet(o.name))
            values[o.name]
                = o.valueName.isEmpty() ? QStringList {u"true"_s} : parser.values(o.name);
    }

    ServerConfig config;
    config.configFile = configPath;
    auto fail = [&](const QString &message) {
        result.exitCode = 2;
        result.output = u"parley server: "_s + message;
        return result;
    };
    auto last
        = [&](const QString &key) { return values.value(key).value(values.value(key).size() - 1); };
    auto number = [&](const QString &key, double min, double max, auto *out) -> bool {
        if (!values.contains(key))
            return true;
        bool ok = false;
        const double v = last(key).toDouble(&ok);
        if (!ok || v < min || v > max)
            return false;
        *out = static_cast<std::remove_pointer_t<decltype(out)>>(v);
        return true;
    };

    if (values.contains(u"listen"_s)
        && !parseHostPort(last(u"listen"_s), &config.listenAddress, &config.listenPort))
        return fail(
            u"--listen expects HOST:PORT, e.g. 127.0.0.1:8443 or [::1]:8443, not '%1'"_s.arg(
                last(u"listen"_s)));
    const QString store = values.contains(u"store"_s) ? last(u"store"_s).toLower() : u"sqlite"_s;
    if (store == u"sqlite"_s)
        config.store = StoreBackend::Sqlite;
    else if (store == u"dynamodb"_s)
        config.store = StoreBackend::DynamoDb;
    else
        return fail(u"--store expects sqlite or dynamodb, not '%1'"_s.arg(last(u"store"_s)));
    config.dataDir = last(u"data-dir"_s);
    if (config.store == StoreBackend::Sqlite && config.dataDir.isEmpty())
        return fail(u"--data-dir is required (where the embedded store keeps its file)"_s);
    config.dynamodbEndpoint = last(u"dynamodb-endpoint"_s);
    if (values.contains(u"dynamodb-table-prefix"_s))
        config.dynamodbTablePrefix = last(u"dynamodb-table-prefix"_s);
    config.createTables = values.contains(u"create-tables"_s) && isTrue(last(u"create-tables"_s));
    config.tlsCertFile = last(u"tls-cert"_s);
    config.tlsKeyFile = last(u"tls-key"_s);
    config.nodeId = last(u"node-id"_s);
    config.redisUrl = last(u"redis"_s);
    if (config.redisUrl.isEmpty())
        config.redisUrl = env.value(u"REDIS_URL"_s);
    if (config.nodeId.isEmpty())
        config.nodeId = QSysInfo::machineHostName();
    config.allowPlaintext
        = values.contains(u"allow-plaintext"_s) && isTrue(last(u"allow-plaintext"_s));
    config.allowedOrigins = values.value(u"allowed-origin"_s);
    config.checkOnly = values.contains(u"check-config"_s);
    auto subnets = [&](const QString &key, QList<Subnet> *out) -> std::optional<QString> {
        for (const QString &text : values.value(key)) {
            for (const QString &part : text.split(u',', Qt::SkipEmptyParts)) {
                if (part.trimmed() == u"none"_s) {
                    out->clear();
                    continue;
                }
                const auto subnet = parseSubnet(part);
                if (!subnet)
                    return u"--%1 expects an address or ADDRESS/BITS like 10.0.0.0/8, not '%2'"_s
                        .arg(key, part.trimmed());
                out->append(*subnet);
            }
        }
        return std::nullopt;
    };
    config.abuse.exempt = {*parseSubnet(u"127.0.0.0/8"_s), *parseSubnet(u"::1"_s)};
    if (values.contains(u"limit-exempt"_s)) {
        config.abuse.exempt.clear();
        if (auto problem = subnets(u"limit-exempt"_s, &config.abuse.exempt))
            return fail(*problem);
    }
    if (auto problem = subnets(u"trusted-proxy"_s, &config.trustedProxies))
        return fail(*problem);
    if (values.contains(u"log-format"_s)) {
        const auto format = process::parseLogFormat(last(u"log-format"_s));
        if (!format)
            return fail(
                u"--log-format expects text or json, not '%1'"_s.arg(last(u"log-format"_s)));
        config.logFormat = *format;
    }

    const bool numbersOk = number(u"threads"_s, 0, 256, &config.workerThreads)
        && number(u"token-ttl-days"_s, 1, 3650, &config.tokenTtlDays)
        && number(u"min-password-length"_s, 1, 1024, &config.minPasswordLength)
        && number(u"send-burst"_s, 1, 1e9, &config.sendBurst)
        && number(u"send-rate"_s, 0.01, 1e9, &config.sendsPerSecond)
        && number(u"frame-burst"_s, 1, 1e9, &config.frameBurst)
        && number(u"frame-rate"_s, 0.01, 1e9, &config.framesPerSecond)
        && number(u"ping-interval"_s, 1, 3600, &config.pingIntervalSeconds)
        && number(u"auth-timeout"_s, 1, 3600, &config.authTimeoutSeconds)
        && number(u"token-check-interval"_s, 1, 86400, &config.tokenCheckSeconds)
        && number(u"slow-reader-timeout"_s, 1, 3600, &config.slowReaderSeconds)
        && number(u"search-index-interval"_s, 10, 600000, &config.searchIndexIntervalMs)
        && number(u"search-index-lease"_s, 1, 86400, &config.searchIndexLeaseSeconds)
        && number(u"drain-timeout"_s, 0, 3600, &config.drainTimeoutSeconds)
        && number(u"max-connections-per-address"_s, 0, 1e7, &config.abuse.connectionsPerAddress)
        && number(u"signin-failures-per-address"_s, 0, 1e6, &config.abuse.signInFailuresPerAddress)
        && number(u"signin-failures-per-account"_s, 0, 1e6, &config.abuse.signInFailuresPerAccount)
        && number(u"registrations-per-address"_s, 0, 1e6, &config.abuse.registrationsPerAddress);
    if (!numbersOk)
        return fail(
            u"a numeric setting is out of range or not a number (see parley server --help)"_s);
    if (config.workerThreads == 0)
        config.workerThreads = std::max(1, QThread::idealThreadCount());

    if (auto problem = validateServerConfig(config))
        return fail(*problem);
    result.config = config;
    return result;
}

std::optional<QString> validateServerConfig(const ServerConfig &config)
{
    if (config.tlsCertFile.isEmpty() != config.tlsKeyFile.isEmpty())
        return u"--tls-cert and --tls-key go together"_s;
    if (config.useTls()) {
        QString error;
        if (!loadTlsFiles(config.tlsCertFile, config.tlsKeyFile, &error))
            return error;
    } else if (!config.listenAddress.isLoopback() && !config.allowPlaintext) {
        return u"refusing plaintext ws:// on %1: give --tls-cert/--tls-key, or --allow-plaintext "
               "if a TLS proxy sits in front"_s.arg(config.listenAddress.toString());
    }
    if (!config.dynamodbEndpoint.isEmpty()) {
        const QUrl url(config.dynamodbEndpoint, QUrl::StrictMode);
        if (!url.isValid() || url.host().isEmpty()
            || (url.scheme() != u"http"_s && url.scheme() != u"https"_s))
            return u"--dynamodb-endpoint expects a URL like http://127.0.0.1:8000, not '%1'"_s.arg(
                config.dynamodbEndpoint);
    }
    // DynamoDB table names: 3..255 of [a-zA-Z0-9_.-]; the longest suffix is 18 characters.
    static const QRegularExpression tablePrefix(u"^[A-Za-z0-9_.-]{0,237}$"_s);
    if (!tablePrefix.match(config.dynamodbTablePrefix).hasMatch())
        return u"--dynamodb-table-prefix may hold only A-Z a-z 0-9 _ . - (at most 237), not '%1'"_s
            .arg(config.dynamodbTablePrefix);
    if (!config.redisUrl.isEmpty()) {
        QString error;
        if (!redis::parseRedisUrl(config.redisUrl, &error))
            return error;
        // The node id travels in bus messages and Redis key names.
        static const QRegularExpression nodeId(u"^[A-Za-z0-9_.-]{1,64}$"_s);
        if (!nodeId.match(config.nodeId).hasMatch())
            return u"--node-id may hold only A-Z a-z 0-9 _ . - (1 to 64) with --redis, not '%1'"_s
                .arg(config.nodeId);
    }
    for (const QString &origin : config.allowedOrigins) {
        if (!origin.startsWith(u"http://"_s) && !origin.startsWith(u"https://"_s))
            return u"--allowed-origin expects an origin like https://chat.example.org, not '%1'"_s
                .arg(origin);
    }
    return std::nullopt;
}

} // namespace parley::server
