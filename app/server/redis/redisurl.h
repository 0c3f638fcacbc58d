// Where Redis is: redis://[user:password@]host[:port][/db] or rediss:// (TLS),
// as given to --redis or REDIS_URL. The password never appears in redacted()
// or in any parse error.
#pragma once

#include <QString>

#include <optional>

namespace parley::server::redis {

struct RedisUrl
{
    bool tls = false; // rediss://
    QString host;
    quint16 port = 6379;
    QString user; // empty: the default user (AUTH with the password alone)
    QString password; // empty: no AUTH
    int db = 0;

    // The URL with the password replaced by "***", for logs and /healthz.
    QString redacted() const;
    friend bool operator==(const RedisUrl &, const RedisUrl &) = default;
};

// nullopt with a one-line reason in *error (which never contains the password).
std::optional<RedisUrl> parseRedisUrl(const QString &text, QString *error);

} // namespace parley::server::redis
