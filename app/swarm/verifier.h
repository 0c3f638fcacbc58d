// Follows every message of a run: each message the server acknowledged must reach every
// device of its recipient exactly once, each device must see a conversation's messages in
// seq order, and each sending device's messages must get seqs in the order it sent them. Plain
// class (no threads, no clock): the runner feeds it events under a lock, the tests feed it
// synthetic streams.
#pragma once

#include <QHash>
#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

namespace parley::swarm {

struct Offender
{
    QString kind; // "lost", "duplicate", "reordered", "unacked", "mismatch"
    QString cid;
    QString conv;
    QString detail; // which device, which seqs
};

struct Verdict
{
    qint64 sent = 0;
    qint64 acked = 0;
    qint64 delivered = 0; // deliveries of acked messages counted once per device
    qint64 lost = 0; // (message, recipient device) pairs never delivered
    qint64 duplicates = 0; // extra deliveries of a message to a device
    // Deliveries below a seq the device already had in that conversation, plus messages
    // acked with a lower seq than one their sending device sent before them in the same
    // conversation (offenders "reordered" and "send_order").
    qint64 reordered = 0;
    qint64 unacked = 0; // sent, never acknowledged
    qint64 mismatched = 0; // delivered with another conversation or seq than acked
    qint64 unexpected = 0; // deliveries of messages this run never sent
    QMap<QString, qint64> errors; // code -> count (the verifier's own; the runner adds the rest)
    QList<Offender> offenders; // the first few of each kind, in sending order
};

class Verifier
{
public:
    // The devices each user reads on ("alice/d0", "alice/d1"); deliveries to any other
    // device of the user are still counted but nothing is expected of it.
    void addDevice(const QString &user, const QString &device);
    // `sender`: the sending device ("alice/d0"); its sends are expected to get seqs in the
    // order of these calls. Empty: `from`.
    void sent(
        const QString &cid, const QString &from, const QString &to, const QString &sender = {});
    void acked(const QString &cid, const QString &conv, qint64 seq);
    void delivered(const QString &device, const QString &cid, const QString &conv, qint64 seq);

    // Every message acked and delivered to every recipient device: the run may stop
    // waiting. Cheap enough to ask a few times a second.
    bool settled() const { return m_unsettled == 0; }

    Verdict verdict(int offendersPerKind = 5) const;

private:
    struct Delivery
    {
        QString device;
        QString conv;
        qint64 seq = 0;
        int times = 0;
    };
    struct Tracked
    {
        QString from;
        QString sender;
        QString to;
        QString conv;
        qint64 seq = 0; // 0 until acked
        bool acked = false;
        QList<Delivery> deliveries;
        int pending = 0; // recipient devices still waiting (or 1 while unacked)
    };
    void resettle(Tracked &message);
    int expectedDevices(const QString &user) const;

    QHash<QString, QStringList> m_devices; // user -> devices
    QHash<QString, Tracked> m_messages; // by cid
    QStringList m_order; // cids in sending order
    QHash<QString, qint64> m_highestSeq; // device + '\n' + conv -> highest delivered seq
    qint64 m_reordered = 0;
    QList<Offender> m_reorderedOffenders;
    qint64 m_unexpected = 0;
    qint64 m_unsettled = 0; // sum of Tracked::pending
};

} // namespace parley::swarm
