#include "redisurl.h"

#include <QUrl>

using namespace Qt::StringLiterals;

namespace parley::server::redis {

namespace {

// The text with whatever sits between "://" and the last '@' (the credentials)
// replaced, so an error can quote the URL without the password.
QString withoutCredentials(const QString &text)
{
    const qsizetype scheme = text.indexOf(u"://"_s);
    const qsizetype at = text.lastIndexOf(u'@');
    if (at < 0)
        return text;
    const qsizetype from = scheme < 0 ? 0 : scheme + 3;
    if (at < from)
        return text;
    return text.left(from) + u"***@"_s + text.mid(at + 1);
}

} // namespace

QString RedisUrl::redacted() const
{
    QString text = tls ? u"rediss://"_s : u"redis://"_s;
    if (!password.isEmpty())
        text += (user.isEmpty() ? QString() : user) + u":***@"_s;
    const bool ipv6 = host.contains(u':');
    text += (ipv6 ? u"["_s + host + u"]"_s : host) + u":"_s + QString::number(port);
    if (db != 0)
        text += u"/"_s + QString::number(db);
    return text;
}

std::optional<RedisUrl> parseRedisUrl(const QString &text, QString *error)
{
    const QString shown = withoutCredentials(text);
    auto fail = [&](const QString &why) {
        *error = u"--redis expects redis://[user:password@]host[:port][/db] or rediss://... "
                 "(%1), not '%2'"_s.arg(why, shown);
        return std::nullopt;
    };
    if (text.trimmed().isEmpty())
        return fail(u"empty"_s);
    if (!text.contains(u"://"_s))
        return fail(u"no scheme: start with redis:// or rediss://"_s);
    const QUrl url(text, QUrl::StrictMode);
    if (!url.isValid())
        return fail(u"not a valid URL"_s);
    RedisUrl result;
    if (url.scheme() == u"rediss"_s)
        result.tls = true;
    else if (url.scheme() != u"redis"_s)
        return fail(u"the scheme must be redis or rediss"_s);
    result.host = url.host();
    if (result.host.isEmpty())
        return fail(u"no host"_s);
    const int port = url.port(6379);
    if (port <= 0 || port > 65535)
        return fail(u"the port must be 1..65535"_s);
    result.port = quint16(port);
    result.user = url.userName(QUrl::FullyDecoded);
    result.password = url.password(QUrl::FullyDecoded);
    if (!result.user.isEmpty() && result.password.isEmpty())
        return fail(u"a user needs a password: user:password@"_s);
    const QString path = url.path();
    if (!path.isEmpty() && path != u"/"_s) {
        bool ok = false;
        const int db = path.mid(1).toInt(&ok);
        if (!ok || db < 0 || db > 65535 || path.mid(1) != QString::number(db))
            return fail(u"the path must be a database number like /0"_s);
        result.db = db;
    }
    if (url.hasQuery() || url.hasFragment())
        return fail(u"no query or fragment is understood"_s);
    return result;
}

} // namespace parley::server::redis
