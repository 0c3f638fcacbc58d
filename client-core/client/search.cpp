// Search: the as-you-type search (see search.h). Each query gets a generation number;
// every answer (the cache's, each server page) carries the generation it was asked for
// and is dropped when the query has changed since. Everything runs on the thread of the
// Search and its Client (the cache and the connection answer through queued calls), so
// no state is shared across threads.
#include "search.h"

#include "cache.h"
#include "client.h"
#include "codec.h"
#include "logging.h"
#include "searchtext.h"

#include <QSet>
#include <QTimer>

using namespace Qt::StringLiterals;

namespace parley::client {

namespace {

constexpr int DefaultDebounceMs = 150;
// The local answer is instant, so it can be generous; the server pages add the rest.
constexpr int LocalLimit = 100;
constexpr int ServerPageSize = 20;

QString hitKey(const QString &conv, qint64 seq)
{
    return conv + u'#' + QString::number(seq);
}

} // namespace

struct Search::Private
{
    Search *q = nullptr;
    Client *client = nullptr;
    QTimer debounce;
    int debounceMs = DefaultDebounceMs;

    QString text;
    QStringList words; // protocol::search::queryWords(text)
    QString conv;
    QString from;
    quint64 generation = 0; // bumped by every new query; stale answers are dropped

    QList<SearchHit> hits;
    QSet<QString> shown; // hitKey of every acked hit in `hits`
    ServerState state = ServerState::Idle;
    QString error;
    std::optional<QString> next; // the server's cursor for the next page

    void setState(ServerState s, const QString &why = {});
    void searchLocal();
    void askServer(quint64 forGeneration, const std::optional<QString> &cursor);
    void onServerPage(const protocol::SearchResults &results);
    QString peerOf(const QString &conversation) const;
};

void Search::Private::setState(ServerState s, const QString &why)
{
    error = why;
    if (std::exchange(state, s) != s)
        Q_EMIT q->serverStateChanged(s);
}

void Search::Private::searchLocal()
{
    const quint64 asked = generation;
    client->cache()->search(
        words, conv, from, LocalLimit, q, [this, asked](const QList<SearchHit> &local) {
            if (asked != generation)
                return; // the user typed on
            hits = local;
            shown.clear();
            for (const SearchHit &hit : local) {
                if (hit.seq > 0)
                    shown.insert(hitKey(hit.conv, hit.seq));
            }
            Q_EMIT q->hitsChanged();
            askServer(asked, std::nullopt);
        });
}

void Search::Private::askServer(quint64 forGeneration, const std::optional<QString> &cursor)
{
    if (client->state() != ConnectionState::Online) {
        setState(ServerState::Offline);
        return;
    }
    protocol::SearchRequest request;
    request.q = words.join(u' ');
    if (!conv.isEmpty())
        request.conv = conv;
    if (!from.isEmpty())
        request.from = from;
    request.limit = ServerPageSize;
    request.cursor = cursor;
    client->searchServer(request, q,
        [this, forGeneration](const protocol::SearchResults &results, const QString &why) {
            if (forGeneration != generation)
                return;
            if (!why.isEmpty()) {
                if (client->state() != ConnectionState::Online) {
                    setState(ServerState::Offline);
                } else {
                    qCInfo(lcClient) << "server search failed:" << why;
                    setState(ServerState::Failed, why);
                }
                return;
            }
            onServerPage(results);
        });
    // After the request is out: a reaction to Searching that changes the query makes
    // this answer stale, as it should.
    setState(ServerState::Searching);
}

void Search::Private::onServerPage(const protocol::SearchResults &results)
{
    next = results.next;
    bool added = false;
    for (const protocol::SearchHit &found : results.hits) {
        const QString key = hitKey(found.conv, found.seq);
        if (shown.contains(key))
            continue; // already listed from the cache
        shown.insert(key);
        SearchHit hit;
        hit.conv = found.conv;
        hit.peer = peerOf(found.conv);
        hit.seq = found.seq;
        hit.from = found.from;
        hit.ts = found.ts;
        hit.body = found.body;
        hit.snippet = found.snippet;
        hit.cached = false;
        hits.append(std::move(hit));
        added = true;
    }
    setState(ServerState::Done);
    if (added)
        Q_EMIT q->hitsChanged();
}

QString Search::Private::peerOf(const QString &conversation) const
{
    const auto members = protocol::conversationMembers(conversation);
    if (!members)
        return {};
    return members->first == client->user() ? members->second : members->first;
}

Search::Search(Client *client, QObject *parent)
    : QObject(parent)
    , d(std::make_unique<Private>())
{
    d->q = this;
    d->client = client;
    d->debounce.setSingleShot(true);
    connect(&d->debounce, &QTimer::timeout, this, [this] { d->searchLocal(); });
    // Back online: the server can now add what this device never downloaded.
    connect(client, &Client::stateChanged, this, [this](ConnectionState state) {
        if (state == ConnectionState::Online && d->state == ServerState::Offline
            && !d->words.isEmpty() && !d->debounce.isActive())
            d->askServer(d->generation, std::nullopt);
    });
}

Search::~Search() = default;

void Search::setDebounceMs(int ms)
{
    d->debounceMs = std::max(0, ms);
}

void Search::setQuery(const QString &text, const QString &conv, const QString &from)
{
    const QStringList words = protocol::search::queryWords(text);
    const QString sender = from.isEmpty() ? QString() : protocol::normalizeUserName(from);
    d->text = text;
    if (words == d->words && conv == d->conv && sender == d->from
        && d->state != ServerState::Failed)
        return; // the same search (a space or a case change): keep its answers
    ++d->generation;
    d->words = words;
    d->conv = conv;
    d->from = sender;
    d->next.reset();
    d->debounce.stop();
    d->setState(ServerState::Idle);
    if (words.isEmpty()) {
        d->shown.clear();
        if (!std::exchange(d->hits, {}).isEmpty())
            Q_EMIT hitsChanged();
        return;
    }
    // The previous hits stay on screen until this query's local answer replaces them.
    if (d->debounceMs == 0)
        d->searchLocal();
    else
        d->debounce.start(d->debounceMs);
}

void Search::clear()
{
    setQuery({});
}

QString Search::text() const
{
    return d->text;
}

QList<SearchHit> Search::hits() const
{
    return d->hits;
}

Search::ServerState Search::serverState() const
{
    return d->state;
}

QString Search::serverError() const
{
    return d->error;
}

bool Search::canFetchMore() const
{
    // After a failed page (rate limited, say) fetchMore asks for it again.
    return (d->state == ServerState::Done || d->state == ServerState::Failed)
        && d->next.has_value();
}

void Search::fetchMore()
{
    if (!canFetchMore())
        return;
    d->askServer(d->generation, d->next);
}

} // namespace parley::client
