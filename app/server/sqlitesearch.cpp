#include "sqlitesearch.h"

#include "searchtext.h"

#include <QByteArray>
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

constexpr char CursorTag[] = "s1:";

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

QString encodeCursor(qint64 id)
{
    const QByteArray text = QByteArray(CursorTag) + QByteArray::number(id);
    return QString::fromLatin1(
        text.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
}

std::optional<qint64> decodeCursor(const QString &cursor)
{
    const auto decoded = QByteArray::fromBase64Encoding(
        cursor.toLatin1(), QByteArray::Base64UrlEncoding | QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded || !decoded.decoded.startsWith(CursorTag))
        return std::nullopt;
    const QByteArray digits = decoded.decoded.mid(qsizetype(sizeof(CursorTag)) - 1);
    // Only the form encodeCursor writes: plain decimal digits, a positive id.
    if (digits.isEmpty() || digits.size() > 19
        || !std::all_of(
            digits.cbegin(), digits.cend(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    bool ok = false;
    const qint64 id = digits.toLongLong(&ok);
    if (!ok || id <= 0 || encodeCursor(id) != cursor)
        return std::nullopt;
    return id;
}

QString fitSnippet(const QString &ftsSnippet, const QString &body, const QStringList &words)
{
    if (!ftsSnippet.isEmpty() && ftsSnippet.size() <= protocol::search::SnippetChars)
        return ftsSnippet;
    return protocol::search::snippet(body, words);
}

} // namespace parley::server::sqlitesearch
