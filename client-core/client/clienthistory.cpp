// Client's reads of history beyond the live timeline: older pages (loadMessages), the
// window around a search hit (loadAround), and the server's search (searchServer).
//
// What the cache holds for sure is the conversation's contiguous run,
// (floorSeq, contiguousSeq]. loadAround may also store isolated windows below the floor
// (hits in history this device never downloaded); they never move floorSeq or
// contiguousSeq, and loadMessages does not mistake them for the run's continuation.
#include "cache.h"
#include "client.h"
#include "client_p.h"
#include "logging.h"

#include <QPointer>

#include <algorithm>

namespace parley::client {

namespace {

QString searchErrorText(const Error &error)
{
    switch (error.code) {
    case ErrorCode::RateLimited:
        return Client::tr("Too many searches in a short time; try again in a moment.");
    case ErrorCode::UnknownType:
        return Client::tr("This server does not support search.");
    case ErrorCode::Unavailable:
        return error.message.isEmpty()
            ? Client::tr("The server cannot search right now.")
            : Client::tr("The server cannot search right now (%1).").arg(error.message);
    default:
        return error.message.isEmpty() ? errorCodeName(error.code) : error.message;
    }
}

} // namespace

void Client::loadMessages(const QString &conv, qint64 beforeSeq, int limit, QObject *context,
    std::function<void(QList<ChatMessage>)> done)
{
    d->cache->loadMessages(conv, beforeSeq, limit, context,
        [this, conv, beforeSeq, limit, done](QList<ChatMessage> messages) {
            const qint64 floor = d->conversation(conv).floorSeq;
            qint64 below = floor + 1; // where a server page for the rest would end
            if (floor > 0 && beforeSeq > 0 && beforeSeq <= floor) {
                // Under the floor the cache holds loadAround's windows, with holes between
                // them: only the run of seqs right under beforeSeq is known to be whole.
                qsizetype kept = 0;
                while (kept < messages.size()
                    && messages.at(messages.size() - 1 - kept).seq == beforeSeq - 1 - kept)
                    ++kept;
                messages = messages.mid(messages.size() - kept);
                below = messages.isEmpty() ? beforeSeq : messages.constFirst().seq;
            } else if (floor > 0) {
                // Only the contiguous run (above the floor) continues the page the UI shows.
                messages.removeIf(
                    [floor](const ChatMessage &m) { return m.seq > 0 && m.seq <= floor; });
            }
            done(messages);
            int stored = 0;
            for (const ChatMessage &m : std::as_const(messages))
                stored += m.seq > 0 ? 1 : 0;
            if (stored >= limit || floor <= 0 || below <= 1)
                return;
            // The server has the page under what the cache could give.
            d->request(
                HistoryRequest {{}, conv, std::nullopt, below, std::min(limit, HistoryPageLimit)},
                [this, conv, below](const ServerFrame &reply) {
                    const auto *page = std::get_if<HistoryPage>(&reply);
                    if (!page)
                        return;
                    QList<ChatMessage> older;
                    qint64 lowest = 0;
                    for (const Message &m : page->messages) {
                        older.append(d->fromWire(m));
                        lowest = lowest ? std::min(lowest, m.seq) : m.seq;
                    }
                    d->cache->saveMessages(older);
                    ConversationInfo &info = d->conversation(conv);
                    if (below == info.floorSeq + 1) { // the run grew downwards
                        info.floorSeq = page->messages.isEmpty() || lowest <= 1 ? 0 : lowest - 1;
                        Cache::ConversationUpdate update {conv, info.peer};
                        update.floorSeq = info.floorSeq;
                        d->cache->updateConversation(update);
                    }
                    older.removeIf([](const ChatMessage &m) { return m.gap; });
                    Q_EMIT olderMessagesLoaded(conv, older);
                });
        });
}

void Client::loadAround(const QString &conv, qint64 seq, int radius, QObject *context,
    std::function<void(QList<ChatMessage>)> done)
{
    // Two pages of at most HistoryPageLimit: the hit and what follows, and what precedes.
    radius = std::clamp(radius, 0, HistoryPageLimit - 1);
    const qint64 fromSeq = std::max<qint64>(1, seq - radius);
    const qint64 toSeq = seq + radius;
    QPointer<QObject> guard(context);
    d->cache->loadRange(conv, fromSeq, toSeq, this,
        [this, guard, conv, seq, radius, fromSeq, toSeq, done](const QList<ChatMessage> &cached) {
            if (!guard)
                return;
            const ConversationInfo info = d->conversation(conv);
            // Inside the cached run (and nothing known beyond lastSeq): the cache has it all.
            const qint64 known = std::max(info.lastSeq, info.contiguousSeq);
            const bool covered
                = fromSeq > info.floorSeq && std::min(toSeq, known) <= info.contiguousSeq;
            if (covered) {
                done(cached);
                return;
            }
            // The rest comes from the server, in two pages answered in any order; done
            // runs once, when both answered (or failed: the cached part then).
            struct Window
            {
                QList<ChatMessage> fetched;
                int waiting = 2;
                bool failed = false;
            };
            auto window = std::make_shared<Window>();
            auto finish = [this, guard, conv, cached, window, done] {
                if (--window->waiting > 0)
                    return;
                // Below the floor nothing else stores them: cache them (the conversation's
                // run and floor stay as they are). Above the run, the timeline delivers
                // and saves them in order; saving them here would let a page show them
                // before messageAdded does.
                const qint64 floor = d->conversation(conv).floorSeq;
                QList<ChatMessage> toSave;
                for (const ChatMessage &m : std::as_const(window->fetched)) {
                    if (m.seq <= floor)
                        toSave.append(m);
                }
                d->cache->saveMessages(toSave);
                if (!guard)
                    return;
                QMap<qint64, ChatMessage> bySeq;
                for (const ChatMessage &m : cached)
                    bySeq.insert(m.seq, m);
                for (const ChatMessage &m : std::as_const(window->fetched)) {
                    if (!m.gap && !bySeq.contains(m.seq))
                        bySeq.insert(m.seq, m);
                }
                if (window->failed)
                    qCInfo(lcClient) << "loadAround" << conv << ": the server part is missing";
                done(bySeq.values());
            };
            auto onPage = [this, window, finish, fromSeq, toSeq](const ServerFrame &reply) {
                if (const auto *page = std::get_if<HistoryPage>(&reply)) {
                    for (const Message &m : page->messages) {
                        if (m.seq >= fromSeq && m.seq <= toSeq)
                            window->fetched.append(d->fromWire(m));
                    }
                } else {
                    window->failed = true;
                }
                finish();
            };
            if (!d->request(HistoryRequest {{}, conv, seq - 1, std::nullopt, radius + 1}, onPage))
                onPage(ServerFrame(Error {{}, ErrorCode::Unavailable, tr("offline"), {}}));
            if (radius == 0 || seq <= 1)
                finish();
            else if (!d->request(HistoryRequest {{}, conv, std::nullopt, seq, radius}, onPage))
                onPage(ServerFrame(Error {{}, ErrorCode::Unavailable, tr("offline"), {}}));
        });
}

void Client::searchServer(const SearchRequest &request, QObject *context,
    std::function<void(SearchResults, QString)> done)
{
    QPointer<QObject> guard(context);
    const bool sent = d->request(request, [guard, done](const ServerFrame &reply) {
        if (!guard)
            return;
        if (const auto *results = std::get_if<SearchResults>(&reply))
            done(*results, {});
        else if (const auto *error = std::get_if<Error>(&reply))
            done({}, searchErrorText(*error));
        else
            done({}, tr("The server gave an unexpected answer to the search."));
    });
    if (!sent) {
        QMetaObject::invokeMethod(
            context, [done] { done({}, tr("You are offline.")); }, Qt::QueuedConnection);
    }
}

} // namespace parley::client
