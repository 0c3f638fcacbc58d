// Search: what the desktop's search box (and anything else) drives. Results come as the
// user types: the local cache's FTS5 index answers at once (offline too), then the
// server's search adds what this device never downloaded. Hits are deduplicated by
// (conv, seq): the cached ones first, newest first, then the server-only ones, newest
// first, page after page (fetchMore). Stale answers (for text the user has since
// changed) are dropped.
#pragma once

#include <QList>
#include <QMetaType>
#include <QObject>
#include <QString>

#include <memory>

namespace parley::client {

class Client;

struct SearchHit
{
    QString conv;
    QString peer; // the other member of conv (for the signed-in user)
    qint64 seq = 0;
    QString from;
    qint64 ts = 0;
    QString body;
    QString snippet; // at most ~160 characters, each matched word wrapped in [ ]
    bool cached = true; // false: found by the server, not (yet) in this device's cache
    friend bool operator==(const SearchHit &, const SearchHit &) = default;
};

class Search : public QObject
{
    Q_OBJECT
public:
    enum class ServerState {
        Idle, // no query, or the query has not reached the server yet (debounce)
        Searching, // a page is on its way
        Done, // the server has answered; canFetchMore() tells whether more pages exist
        Offline, // not connected: the hits are this device's only
        Failed, // the server refused or failed; serverError() says why
    };
    Q_ENUM(ServerState)

    // client: not owned; must outlive the search.
    explicit Search(Client *client, QObject *parent = nullptr);
    ~Search() override;

    // Quiet time after the last setQuery before searching (default 150 ms; 0: at once).
    void setDebounceMs(int ms);
    // Searches for the words of text (as PROTOCOL search: all words, word prefixes, case
    // and accents ignored), optionally only in conv and/or only messages from `from`.
    // Text without letters or digits clears the hits.
    void setQuery(const QString &text, const QString &conv = {}, const QString &from = {});
    void clear();
    QString text() const;

    QList<SearchHit> hits() const;
    ServerState serverState() const;
    QString serverError() const; // human readable, empty unless Failed
    bool canFetchMore() const; // the server has another page
    void fetchMore(); // asks for it (no-op while Searching or when there is none)

Q_SIGNALS:
    // hits() changed: replaced (a new query's local answer) or extended (server pages).
    void hitsChanged();
    void serverStateChanged(parley::client::Search::ServerState state);

private:
    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace parley::client

Q_DECLARE_METATYPE(parley::client::SearchHit)
