#include "sqlitesearch.h"

#include "searchtext.h"

#include <QByteArray>
#include <QMessageAuthenticationCode>
#include <QStringList>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace parley::server::sqlitesearch {

namespace {

// U+E000 (private use) starts every member token: unicode61 keeps it inside the token,
// and query words, which hold only letters and digits, never start with it.
QString memberToken(QChar kind, const QString &user)
{
    return u"\"\uE000"_s + kind + QString::fromLatin1(user.toUtf8().toHex()) + u'"';
}

// "s1:<id>" cursors had no MAC and are refused now.
constexpr char CursorTag[] = "s2:";
constexpr qsizetype CursorMacBytes = 12;

} // namespace

QString matchExpression(const SearchQuery &query)
{
    QStringList members {memberToken(u'u', query.user)};
    if (query.conv) {
        for (const QString &member : query.conv->split(u':')) {
            if (member != query.user)
                members.append(memberToken(u'u', member));
        }
    }
    if (query.from)
        members.append(memberToken(u's', *query.from));
    return u"{members} : ("_s + members.join(u" AND "_s) + u") AND "_s
        + protocol::search::fts5Expression(query.words, u"body");
}

namespace {

// Binds an id to the user and the query under the store's key: a cursor of another
// search, another user's, a mangled or a hand-made one fails the check.
QByteArray cursorMac(const QByteArray &key, const SearchQuery &query, qint64 id)
{
    const QString bound = QStringList {query.user, query.words.join(u' '),
        query.conv.value_or(QString()), query.from.value_or(QString()), QString::number(id)}
                              .join(u'\n');
    return QMessageAuthenticationCode::hash(bound.toUtf8(), key, QCryptographicHash::Sha256)
        .first(CursorMacBytes);
}

} // namespace

QString encodeCursor(const QByteArray &key, const SearchQuery &query, qint64 id)
{
    const QByteArray text
        = QByteArray(CursorTag) + QByteArray::number(id) + ':' + cursorMac(key, query, id).toHex();
    return QString::fromLatin1(
        text.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
}

std::optional<qint64> decodeCursor(const QByteArray &key, const SearchQuery &query)
{
    const auto decoded = QByteArray::fromBase64Encoding(query.cursor.toLatin1(),
        QByteArray::Base64UrlEncoding | QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded || !decoded.decoded.startsWith(CursorTag))
        return std::nullopt;
    const QList<QByteArray> parts
        = decoded.decoded.mid(qsizetype(sizeof(CursorTag)) - 1).split(':');
    if (parts.size() != 2)
        return std::nullopt;
    const QByteArray &digits = parts.at(0);
    // Only the form encodeCursor writes: plain decimal digits, a positive id.
    if (digits.isEmpty() || digits.size() > 19
        || !std::all_of(
            digits.cbegin(), digits.cend(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    bool ok = false;
    const qint64 id = digits.toLongLong(&ok);
    if (!ok || id <= 0 || encodeCursor(key, query, id) != query.cursor)
        return std::nullopt; // compares the whole cursor, MAC included
    return id;
}

QString fitSnippet(const QString &ftsSnippet, const QString &body, const QStringList &words)
{
    if (!ftsSnippet.isEmpty() && ftsSnippet.size() <= protocol::search::SnippetChars)
        return ftsSnippet;
    return protocol::search::snippet(body, words);
}

} // namespace parley::server::sqlitesearch
