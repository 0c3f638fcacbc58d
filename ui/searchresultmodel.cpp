#include "searchresultmodel.h"

#include "searchtext.h"

#include <QDateTime>
#include <QLocale>

#include <algorithm>

using namespace Qt::StringLiterals;
using parley::client::Search;
using parley::client::SearchHit;
namespace search = parley::protocol::search;

namespace parley::ui {

namespace {

// How much of the body before the first match stays in view, and how much a row keeps
// at all (the delegate elides the rest to the row's width).
constexpr qsizetype LeadChars = 24;
constexpr qsizetype KeptChars = 300;

} // namespace

HitText hitText(const QString &body, const QStringList &queryWords)
{
    // Line breaks and tabs become spaces one for one, so word offsets stay valid.
    QString flat = body;
    for (QChar &c : flat) {
        if (c.isSpace())
            c = u' ';
    }
    const QList<search::WordSpan> words = search::words(flat);
    QList<search::WordSpan> matched;
    for (const search::WordSpan &w : words) {
        const bool hit = std::any_of(queryWords.cbegin(), queryWords.cend(),
            [&w](const QString &q) { return w.folded.startsWith(q); });
        if (hit)
            matched.append(w);
    }
    qsizetype from = 0;
    if (!matched.isEmpty() && matched.first().start > LeadChars) {
        const qsizetype want = matched.first().start - LeadChars;
        for (const search::WordSpan &w : words) {
            if (w.start >= want) {
                from = w.start;
                break;
            }
        }
    }
    const QString lead = from > 0 ? u"…"_s : QString();
    const qsizetype kept = std::min(flat.size() - from, KeptChars);
    HitText out;
    out.text = lead + flat.mid(from, kept) + (from + kept < flat.size() ? u"…"_s : QString());
    const qsizetype shift = lead.size() - from;
    for (const search::WordSpan &w : std::as_const(matched)) {
        if (w.start < from || w.start + w.length > from + kept)
            continue;
        out.matches.append(MatchSpan {int(w.start + shift), int(w.length)});
    }
    return out;
}

SearchResultModel::SearchResultModel(QObject *parent)
    : QAbstractListModel(parent)
{ }

void SearchResultModel::setUser(const QString &user)
{
    m_user = user;
}

void SearchResultModel::setSearch(Search *search)
{
    if (m_search)
        disconnect(m_search, nullptr, this, nullptr);
    m_search = search;
    if (!search)
        return;
    connect(search, &Search::hitsChanged, this,
        [this, search] { setHits(search->hits(), search->text()); });
}

SearchResultModel::Row SearchResultModel::makeRow(const SearchHit &hit) const
{
    return Row {hit, hitText(hit.body.isEmpty() ? hit.snippet : hit.body, m_words)};
}

void SearchResultModel::setHits(const QList<SearchHit> &hits, const QString &query)
{
    const QStringList words = search::queryWords(query);
    const bool extends = words == m_words && hits.size() >= m_rows.size()
        && std::equal(m_rows.cbegin(), m_rows.cend(), hits.cbegin(),
            [](const Row &row, const SearchHit &hit) {
                return row.hit.conv == hit.conv && row.hit.seq == hit.seq;
            });
    if (!extends) {
        beginResetModel();
        m_words = words;
        m_rows.clear();
        m_rows.reserve(hits.size());
        for (const SearchHit &hit : hits)
            m_rows.append(makeRow(hit));
        endResetModel();
        return;
    }
    if (hits.size() == m_rows.size())
        return;
    beginInsertRows({}, int(m_rows.size()), int(hits.size()) - 1);
    for (qsizetype i = m_rows.size(); i < hits.size(); ++i)
        m_rows.append(makeRow(hits.at(i)));
    endInsertRows();
}

SearchHit SearchResultModel::hit(int row) const
{
    return row >= 0 && row < m_rows.size() ? m_rows.at(row).hit : SearchHit {};
}

int SearchResultModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

QVariant SearchResultModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &row = m_rows.at(index.row());
    const SearchHit &hit = row.hit;
    const QString sender = !m_user.isEmpty() && hit.from == m_user ? tr("You") : hit.from;
    switch (role) {
    case Qt::DisplayRole:
        return row.text.text;
    case Qt::AccessibleTextRole: {
        const QString time = QLocale().toString(
            QDateTime::fromMSecsSinceEpoch(hit.ts).toLocalTime(), QLocale::ShortFormat);
        return tr("Conversation with %1, %2, %3: %4").arg(hit.peer, sender, time, hit.body);
    }
    case HitRole:
        return QVariant::fromValue(hit);
    case ConversationRole:
        return hit.conv;
    case PeerRole:
        return hit.peer;
    case SeqRole:
        return hit.seq;
    case SenderRole:
        return sender;
    case TimeRole:
        return QDateTime::fromMSecsSinceEpoch(hit.ts).toLocalTime();
    case MatchesRole:
        return QVariant::fromValue(row.text.matches);
    case CachedRole:
        return hit.cached;
    default:
        return {};
    }
}

QHash<int, QByteArray> SearchResultModel::roleNames() const
{
    QHash<int, QByteArray> names = QAbstractListModel::roleNames();
    names.insert(HitRole, "hit");
    names.insert(ConversationRole, "conversation");
    names.insert(PeerRole, "peer");
    names.insert(SeqRole, "seq");
    names.insert(SenderRole, "sender");
    names.insert(TimeRole, "time");
    names.insert(MatchesRole, "matches");
    names.insert(CachedRole, "cached");
    return names;
}

bool SearchResultModel::canFetchMore(const QModelIndex &parent) const
{
    return !parent.isValid() && m_search && m_search->canFetchMore()
        && m_search->serverState() != Search::ServerState::Searching;
}

void SearchResultModel::fetchMore(const QModelIndex &parent)
{
    if (canFetchMore(parent))
        m_search->fetchMore();
}

} // namespace parley::ui
