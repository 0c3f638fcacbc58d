// The sweep: catches every conversation's search index up (dynamoindexer.h), one Scan
// page of the conversations table at a time, with its progress in a marker item of the
// search table so a restart goes on where it stopped. It runs when a node starts and
// the marker is not done (an upgrade from the layout that indexed each message before
// its ack, or a sweep that was under way), and again whenever a node finds that
// another one died (SearchIndexer's leases). Several nodes at once: one holds a lease
// on the marker and works, the others wait and take over if its lease runs out.
// Catching a conversation up twice changes nothing. Store thread only;
// docs/dynamodb.md, section "Search".
#pragma once

#include "dynamoindexer.h"
#include "dynamotables.h"

#include <QJsonObject>
#include <QObject>
#include <QString>
#include <QTimer>

#include <functional>

namespace parley::server::dynamo {

class SearchBackfill
{
public:
    struct Options
    {
        int leaseMs = 60000; // how long a node's claim on the work holds without progress
        int pageItems = 100; // conversations per Scan page
        int retryMs = 5000; // pause after a failed request before trying again
    };
    SearchBackfill(Tables *tables, SearchIndexer *indexer, Options options);
    ~SearchBackfill();
    Q_DISABLE_COPY_MOVE(SearchBackfill)

    // Runs a sweep if the marker asks for one (and waits for another node's).
    void start();
    // Asks every node for a new sweep from the first conversation, and takes part.
    void restart();
    // Ends the work after the request in flight, if any; `stopped` runs once then.
    void stop(std::function<void()> stopped);

private:
    void readMarker();
    void claim(const QJsonObject &marker);
    void scanPage(const QJsonObject &startKey);
    void saveProgress(const QJsonObject &nextKey);
    void retryLater(std::function<void()> step, int delayMs);
    void idle();
    QJsonObject markerKey() const;

    Tables *m_tables;
    SearchIndexer *m_indexer;
    const Options m_options;
    const QString m_owner; // random id of this node's claim
    qint64 m_generation = 0; // of the sweep this node works on
    std::function<void()> m_stopped;
    bool m_stopping = false;
    bool m_busy = false; // a request is in flight
    bool m_restartWanted = false; // restart() while a request was in flight
    QTimer m_pause; // single shot: the next step after a wait
    std::function<void()> m_next; // what m_pause runs
    QObject m_context;
};

} // namespace parley::server::dynamo
