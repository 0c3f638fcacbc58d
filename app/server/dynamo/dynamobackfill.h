// Indexes for search the messages stored before the search index existed: on start, a
// Scan of the messages table, page by page, writing each message's index items
// (dynamosearch.h), with its progress in a marker item of the search table so a restart
// goes on where it stopped. Several nodes starting at once: one holds a lease on the
// marker and works, the others wait and take over if its lease runs out. Every index
// item is a function of its message, so a page written twice changes nothing. Store
// thread only; docs/dynamodb.md, section "Search".
#pragma once

#include "dynamobatch.h"
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
        int pageItems = 100; // messages per Scan page
        int retryMs = 5000; // pause after a failed request before trying again
    };
    SearchBackfill(Tables *tables, Options options);
    ~SearchBackfill();
    Q_DISABLE_COPY_MOVE(SearchBackfill)

    // Runs until every message is indexed (or stop()); `finished` is called once then.
    void start(std::function<void()> finished);
    // Ends the work after the request in flight, if any; `finished` is called.
    void stop();

private:
    void readMarker();
    void claim(const QJsonObject &marker);
    void scanPage(const QJsonObject &startKey);
    void saveProgress(const QJsonObject &nextKey);
    void retryLater(std::function<void()> step, int delayMs);
    void finish();
    QJsonObject markerKey() const;

    Tables *m_tables;
    const Options m_options;
    Batcher m_writes; // below the appends' priority: live traffic goes first
    const QString m_owner; // random id of this node's claim
    std::function<void()> m_finished;
    bool m_stopping = false;
    bool m_busy = false; // a request is in flight
    QTimer m_pause; // single shot: the next step after a wait
    std::function<void()> m_next; // what m_pause runs
    QObject m_context;
};

} // namespace parley::server::dynamo
