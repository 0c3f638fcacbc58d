// The hits of a search as the result list shows them, in client::Search's order (the
// cached ones first, then the server's). Each row carries the text to show and where
// the words matching the query are in it, so the delegate can emphasise them. Fed by a
// client::Search (setSearch), or directly (setHits) in tests; canFetchMore / fetchMore
// ask the search for the server's next page, so the view loads more when the user
// scrolls to the end.
#pragma once

#include "search.h"

#include <QAbstractListModel>
#include <QPointer>

namespace parley::ui {

// Where a matched word is in a row's text (QChar units).
struct MatchSpan
{
    int start = 0;
    int length = 0;
    friend bool operator==(const MatchSpan &, const MatchSpan &) = default;
};

struct HitText
{
    QString text;
    QList<MatchSpan> matches;
};

// What a result row shows of a message body: on one line, starting a few words before
// the first match (with "…" when cut) so the match is in view however narrow the row,
// and each word the query words match (PROTOCOL search rules: case and accents
// ignored, word prefixes). Computed from the body and the query, not from the
// snippet's [ ] marks: a body may itself contain brackets.
HitText hitText(const QString &body, const QStringList &queryWords);

class SearchResultModel : public QAbstractListModel
{
    Q_OBJECT
public:
    enum Role {
        HitRole = Qt::UserRole + 1, // the client::SearchHit
        ConversationRole,
        PeerRole,
        SeqRole,
        SenderRole, // "You" for the signed-in user's messages, else the sender
        TimeRole, // QDateTime, local
        MatchesRole, // QList<MatchSpan> in the DisplayRole text
        CachedRole, // false: found by the server only
    };

    explicit SearchResultModel(QObject *parent = nullptr);

    void setUser(const QString &user);
    // Follows search: its hits, and its server pages for fetchMore.
    void setSearch(client::Search *search);
    // The hits for query (the text typed): rows are added when hits extends what is
    // shown (a server page), else the model is reset.
    void setHits(const QList<client::SearchHit> &hits, const QString &query);
    client::SearchHit hit(int row) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;
    bool canFetchMore(const QModelIndex &parent) const override;
    void fetchMore(const QModelIndex &parent) override;

private:
    struct Row
    {
        client::SearchHit hit;
        HitText text;
    };
    Row makeRow(const client::SearchHit &hit) const;

    QPointer<client::Search> m_search;
    QString m_user;
    QStringList m_words; // the folded query words
    QList<Row> m_rows;
};

} // namespace parley::ui

Q_DECLARE_METATYPE(parley::ui::MatchSpan)
