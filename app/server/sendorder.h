// SendOrderGuard: a sender's messages take seqs in the order it sent them, also when the
// store fails some of them (protocol.md §6, reliability.md §2).
//
// The session holds a conversation back after a refusal it decides itself (rate limits),
// but a store failure is learned only when the store answers, and by then later sends of
// the same connection may be queued in the store or on their way through it. So the store
// keeps the rule where seqs are given: after a send of a connection to a conversation
// failed in a way the client retries (unavailable, internal), that connection's later
// sends to the conversation are refused (`StoreError::Code::OutOfOrder`) until the failed
// message comes again, which client-core resends first. The hold ends after HoldMs if it
// never does (the user cancelled the message). Sends with origin 0 are not guarded.
//
// Each store admits sends on the one thread that orders its appends (SqliteStore's store
// thread, DynamoStore's thread); a failure may be recorded from another (a send to a
// store that is closing), so the table has a mutex of its own (never contended in use).
#pragma once

#include "result.h"
#include "store.h"

#include <QHash>
#include <QMutex>
#include <QString>

#include <optional>
#include <utility>

namespace parley::server {

class SendOrderGuard
{
public:
    static constexpr qint64 HoldMs = 30'000; // as the session's own hold (SendHoldMs)
    // Holds kept at once; beyond it expired ones go first, then new holds are not kept (a
    // flood of failing connections must not grow the store's memory without bound).
    static constexpr qsizetype MaxHolds = 100'000;

    // nullopt: the send may take a seq now (and the resend of a held message ends the
    // hold); otherwise the refusal to answer it with. `order` numbers the store's appends
    // as they were submitted (a connection submits its sends in the order it sent them):
    // only sends submitted after the failed one are held back.
    std::optional<StoreError> admit(const SendRequest &send, qint64 nowMs, quint64 order);
    // The held message came again: the hold ends (as in admit), also when the store
    // answers it without admitting it (a duplicate of a send stored before).
    void sentAgain(const SendRequest &send);
    // The send failed: holds its conversation back for its connection, unless the failure
    // is one the client does not retry or an earlier message already holds it. Failures
    // may be learned out of submission order: the hold waits for the oldest failed
    // message, the one the client sends again first.
    void failed(const SendRequest &send, const StoreError &error, qint64 nowMs, quint64 order);

    // The refusal of a send that would overtake a failed message to `to`.
    static StoreError overtaking(const QString &to);

    // Whether a failure of this kind makes the client send the message again.
    static bool retried(const StoreError &error);

    qsizetype holds() const;

private:
    struct Held
    {
        QString cid;
        qint64 since = 0;
        quint64 order = 0;
    };
    mutable QMutex m_mutex;
    QHash<std::pair<quint64, QString>, Held> m_held; // (origin, to) -> the failed message
};

} // namespace parley::server
