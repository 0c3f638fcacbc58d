// Outbox: the state machine of our unacknowledged messages, driven with an injected
// clock. Scenarios are tables of steps; each step states what the call returned and,
// where it matters, what the outbox holds afterwards.
#include "outbox.h"

#include <QRegularExpression>
#include <QTest>
#include <QUuid>

using namespace Qt::StringLiterals;
using namespace parley::client;
using parley::protocol::ErrorCode;

namespace {

const QString Me = u"alice"_s;
const QString Peer = u"bob"_s;
const QString Conv = u"alice:bob"_s;
constexpr qint64 ServerTsBase = 1795333600000; // ts of seq n is ServerTsBase + n

// One call on the outbox, or a check of its state. Messages are named by labels ("a",
// "b"); the harness maps them to the cids enqueue() chose.
struct Step
{
    enum Op {
        Enqueue,
        Take,
        Ack,
        Echo,
        Fail,
        LinkLost,
        Cancel,
        Retry,
        Forget,
        ExpectOutbox,
        ExpectDeadline,
        ExpectInFlight
    };
    Op op = Take;
    QString label;
    qint64 now = 0;
    qint64 seq = 0; // Ack, Echo
    QString from = Me; // Echo
    ErrorCode code = ErrorCode::Internal; // Fail
    std::optional<qint64> retryAfterMs; // Fail
    // What the call returned (see describe()), or the expected outbox / deadline / count.
    QString expected;
};
using Steps = QList<Step>;

Step enqueue(const QString &label, qint64 now = 0)
{
    return {Step::Enqueue, label, now, 0, Me, {}, {}, label + u":queued0"_s};
}
Step take(qint64 now, const QString &returned)
{
    return {Step::Take, {}, now, 0, Me, {}, {}, returned};
}
Step ack(const QString &label, qint64 seq, qint64 now, const QString &returned)
{
    return {Step::Ack, label, now, seq, Me, {}, {}, returned};
}
Step echo(
    const QString &label, qint64 seq, qint64 now, const QString &returned, const QString &from = Me)
{
    return {Step::Echo, label, now, seq, from, {}, {}, returned};
}
Step fail(const QString &label, ErrorCode code, std::optional<qint64> retryAfterMs, qint64 now,
    const QString &returned)
{
    return {Step::Fail, label, now, 0, Me, code, retryAfterMs, returned};
}
Step linkLost(qint64 now, const QString &returned)
{
    return {Step::LinkLost, {}, now, 0, Me, {}, {}, returned};
}
Step cancel(const QString &label, const QString &returned)
{
    return {Step::Cancel, label, 0, 0, Me, {}, {}, returned};
}
Step retry(const QString &label, const QString &returned)
{
    return {Step::Retry, label, 0, 0, Me, {}, {}, returned};
}
Step forget(const QString &label, const QString &returned)
{
    return {Step::Forget, label, 0, 0, Me, {}, {}, returned};
}
Step outbox(const QString &messages)
{
    return {Step::ExpectOutbox, {}, 0, 0, Me, {}, {}, messages};
}
Step deadline(qint64 at)
{
    return {Step::ExpectDeadline, {}, 0, 0, Me, {}, {}, QString::number(at)};
}
Step inFlight(int count)
{
    return {Step::ExpectInFlight, {}, 0, 0, Me, {}, {}, QString::number(count)};
}

OutboxOptions window(int maxInFlight, qint64 ackTimeoutMs = 15000)
{
    return {maxInFlight, ackTimeoutMs};
}

// Runs steps, naming messages by label.
class Harness
{
public:
    explicit Harness(OutboxOptions options)
        : outbox(options)
    { }

    // label:state attempts, then "?" when maybeSent and "#seq" once acked: "a:sending2?".
    QString describe(const ChatMessage &m) const
    {
        return m_labels.value(m.cid, u"?"_s) + u':' + messageStateName(m.state)
            + QString::number(m.attempts) + (m.maybeSent ? u"?"_s : QString())
            + (m.seq > 0 ? u'#' + QString::number(m.seq) : QString());
    }
    QString describe(const QList<ChatMessage> &messages) const
    {
        QStringList parts;
        for (const ChatMessage &m : messages)
            parts.append(describe(m));
        return parts.join(u' ');
    }
    QString describe(const std::optional<ChatMessage> &m) const
    {
        return m ? describe(*m) : u"-"_s;
    }

    QString run(const Step &step)
    {
        const QString cid = m_cids.value(step.label, step.label); // unknown: used as is
        switch (step.op) {
        case Step::Enqueue: {
            const ChatMessage m = outbox.enqueue(Me, Peer, u"body of "_s + step.label, step.now);
            m_cids.insert(step.label, m.cid);
            m_labels.insert(m.cid, step.label);
            return describe(m);
        }
        case Step::Take:
            return describe(outbox.takeReady(step.now));
        case Step::Ack:
            return describe(outbox.acked(
                {u"r"_s, cid, Conv, step.seq, ServerTsBase + step.seq, false}, step.now));
        case Step::Echo:
            return describe(
                outbox.echoed({Conv, step.seq, step.from, Peer, cid, u"body of "_s + step.label,
                                  ServerTsBase + step.seq, false},
                    step.now));
        case Step::Fail:
            return describe(
                outbox.failed(cid, {u"r"_s, step.code, u"refused"_s, step.retryAfterMs}, step.now));
        case Step::LinkLost:
            return describe(outbox.linkLost(step.now));
        case Step::Cancel:
            switch (outbox.cancel(cid, step.now)) {
            case Outbox::CancelResult::Removed:
                return u"removed"_s;
            case Outbox::CancelResult::MayHaveBeenSent:
                return u"maybe"_s;
            case Outbox::CancelResult::NotCancellable:
                return u"no"_s;
            }
            return {};
        case Step::Retry:
            return describe(outbox.retry(cid, step.now));
        case Step::Forget:
            return outbox.forget(cid) ? u"true"_s : u"false"_s;
        case Step::ExpectOutbox:
            return describe(outbox.messages());
        case Step::ExpectDeadline:
            return QString::number(outbox.nextDeadlineMs());
        case Step::ExpectInFlight:
            return QString::number(outbox.inFlight());
        }
        return {};
    }

    Outbox outbox;

private:
    QHash<QString, QString> m_cids; // label -> cid
    QHash<QString, QString> m_labels; // cid -> label
};

void runSteps(const OutboxOptions &options, const Steps &steps)
{
    Harness h(options);
    for (qsizetype i = 0; i < steps.size(); ++i) {
        const QString actual = h.run(steps.at(i));
        const QString failure = u"step "_s + QString::number(i + 1) + u": got '"_s + actual
            + u"', expected '"_s + steps.at(i).expected + u"'"_s;
        QVERIFY2(actual == steps.at(i).expected, qPrintable(failure));
    }
}

ChatMessage stored(const QString &cid, MessageState state, int attempts)
{
    ChatMessage m;
    m.conv = Conv;
    m.cid = cid;
    m.from = Me;
    m.to = Peer;
    m.body = u"restored "_s + cid;
    m.outgoing = true;
    m.state = state;
    m.attempts = attempts;
    m.queuedAt = m.ts = 100;
    if (attempts > 0)
        m.sendingAt = 200;
    return m;
}

} // namespace

Q_DECLARE_METATYPE(Step)
Q_DECLARE_METATYPE(OutboxOptions)
Q_DECLARE_METATYPE(ErrorCode)

class TestOutbox : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void scenarios_data();
    void scenarios();
    void deadlines_data();
    void deadlines();
    void sendErrors_data();
    void sendErrors();
    void enqueueFillsTheMessage();
    void timestampsForEachStep();
    void restore();
    void restoreAfterEnqueue();
    void stopAndGoAfterARefusal();
};

void TestOutbox::stopAndGoAfterARefusal()
{
    // 10 in flight, all refused by a rate limit: they go again one at a time, oldest first,
    // and each ack lets one more go along, so the sender does not resend its whole window
    // into the same limit (and the server's hold sees the refused message first).
    Outbox outbox;
    QList<ChatMessage> queued;
    for (int i = 0; i < 10; ++i)
        queued.append(outbox.enqueue(Me, Peer, u"m%1"_s.arg(i), 0));
    QCOMPARE(outbox.takeReady(0).size(), 10);
    for (const ChatMessage &m : queued)
        QVERIFY(
            outbox.failed(m.cid, {{}, ErrorCode::RateLimited, u"slow down"_s, qint64(100)}, 10));
    QCOMPARE(outbox.window(), 1);
    QList<ChatMessage> ready = outbox.takeReady(110);
    QCOMPARE(ready.size(), 1);
    QCOMPARE(ready.first().cid, queued.at(0).cid);
    QVERIFY(outbox.takeReady(120).isEmpty());
    qint64 seq = 0;
    auto ackAll = [&](const QList<ChatMessage> &sent) {
        for (const ChatMessage &m : sent)
            QVERIFY(outbox.acked({{}, m.cid, u"me:you"_s, ++seq, 0, false}, 130));
    };
    ackAll(ready);
    ready = outbox.takeReady(140);
    QCOMPARE(ready.size(), 2);
    QCOMPARE(ready.at(0).cid, queued.at(1).cid);
    QCOMPARE(ready.at(1).cid, queued.at(2).cid);
    ackAll(ready);
    QCOMPARE(outbox.takeReady(150).size(), 4);
    QCOMPARE(outbox.window(), 4);
}

void TestOutbox::scenarios_data()
{
    QTest::addColumn<OutboxOptions>("options");
    QTest::addColumn<Steps>("steps");

    using E = ErrorCode;
    QTest::newRow("ack in order") << OutboxOptions {}
                                  << Steps {enqueue(u"a"_s), enqueue(u"b"_s),
                                         take(10, u"a:sending1 b:sending1"_s), inFlight(2),
                                         ack(u"a"_s, 1, 20, u"a:sent1#1"_s),
                                         outbox(u"b:sending1"_s), inFlight(1),
                                         ack(u"b"_s, 2, 30, u"b:sent1#2"_s), outbox({}),
                                         take(40, {})};
    QTest::newRow("ack, then echo: one resolution")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), take(0, u"a:sending1"_s), ack(u"a"_s, 1, 10, u"a:sent1#1"_s),
               echo(u"a"_s, 1, 20, u"-"_s), outbox({})};
    QTest::newRow("echo, then ack: one resolution")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), take(0, u"a:sending1"_s), echo(u"a"_s, 1, 10, u"a:sent1#1"_s),
               ack(u"a"_s, 1, 20, u"-"_s), outbox({})};
    QTest::newRow("echo of another sender's cid is not ours")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), take(0, u"a:sending1"_s),
               echo(u"a"_s, 1, 10, u"-"_s, u"mallory"_s), outbox(u"a:sending1"_s)};
    QTest::newRow("ack of an unknown cid")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), take(0, u"a:sending1"_s), ack(u"zz"_s, 1, 10, u"-"_s),
               outbox(u"a:sending1"_s)};
    QTest::newRow("resend after the ack timeout, same cid")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), take(0, u"a:sending1"_s), take(14999, {}),
               take(15000, u"a:sending2"_s), inFlight(1), take(29999, {}),
               ack(u"a"_s, 1, 29999, u"a:sent2#1"_s)};
    QTest::newRow("an overdue resend comes before newer messages")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), take(0, u"a:sending1"_s), enqueue(u"b"_s, 100),
               enqueue(u"c"_s, 100), take(15000, u"a:sending2 b:sending1 c:sending1"_s)};
    QTest::newRow("linkLost, then resent in the original order")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), enqueue(u"b"_s), enqueue(u"c"_s),
               take(0, u"a:sending1 b:sending1 c:sending1"_s), ack(u"b"_s, 1, 5, u"b:sent1#1"_s),
               linkLost(10, u"a:queued1? c:queued1?"_s), inFlight(0), enqueue(u"d"_s, 20),
               take(30, u"a:sending2? c:sending2? d:sending1"_s)};
    QTest::newRow("linkLost within the window")
        << window(2)
        << Steps {enqueue(u"a"_s), enqueue(u"b"_s), enqueue(u"c"_s),
               take(0, u"a:sending1 b:sending1"_s), linkLost(10, u"a:queued1? b:queued1?"_s),
               take(20, u"a:sending2? b:sending2?"_s), ack(u"a"_s, 1, 30, u"a:sent2?#1"_s),
               take(40, u"c:sending1"_s)};
    QTest::newRow("window limit") << window(2)
                                  << Steps {enqueue(u"a"_s), enqueue(u"b"_s), enqueue(u"c"_s),
                                         take(0, u"a:sending1 b:sending1"_s), inFlight(2),
                                         take(10, {}), outbox(u"a:sending1 b:sending1 c:queued0"_s),
                                         ack(u"a"_s, 1, 20, u"a:sent1#1"_s),
                                         take(30, u"c:sending1"_s), inFlight(2)};
    QTest::newRow("an overdue resend keeps its window slot")
        << window(2)
        << Steps {enqueue(u"a"_s), take(0, u"a:sending1"_s), enqueue(u"b"_s), enqueue(u"c"_s),
               take(15000, u"a:sending2 b:sending1"_s), inFlight(2)};
    QTest::newRow("rate_limited pauses for retryAfterMs")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), enqueue(u"b"_s), take(0, u"a:sending1 b:sending1"_s),
               fail(u"a"_s, E::RateLimited, 2000, 100, u"a:queued1"_s),
               outbox(u"a:queued1 b:sending1"_s), enqueue(u"c"_s, 500), take(1000, {}),
               take(2099, {}), take(2100, u"a:sending2"_s), ack(u"b"_s, 1, 2200, u"b:sent1#1"_s),
               take(2300, u"c:sending1"_s)};
    QTest::newRow("transient error without retryAfterMs pauses 1 s")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), take(0, u"a:sending1"_s),
               fail(u"a"_s, E::Unavailable, std::nullopt, 100, u"a:queued1"_s), take(1099, {}),
               take(1100, u"a:sending2"_s)};
    QTest::newRow("a pause holds back overdue resends too")
        << window(100, 1000)
        << Steps {enqueue(u"a"_s), enqueue(u"b"_s), take(0, u"a:sending1 b:sending1"_s),
               fail(u"a"_s, E::Internal, 5000, 100, u"a:queued1"_s), take(3000, {}),
               take(5100, u"a:sending2 b:sending2"_s)};
    QTest::newRow("permanent error: Failed, the queue moves on")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), take(0, u"a:sending1"_s),
               fail(u"a"_s, E::NotFound, std::nullopt, 10, u"a:failed1"_s), inFlight(0),
               enqueue(u"b"_s, 20), take(30, u"b:sending1"_s), outbox(u"a:failed1 b:sending1"_s),
               take(20000, u"b:sending2"_s)};
    QTest::newRow("error for an unknown cid")
        << OutboxOptions {}
        << Steps {fail(u"zz"_s, E::RateLimited, 5000, 0, u"-"_s), enqueue(u"a"_s),
               take(0, u"a:sending1"_s)};
    QTest::newRow("cancel a message never sent")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), enqueue(u"b"_s), cancel(u"a"_s, u"removed"_s),
               outbox(u"b:queued0"_s), take(0, u"b:sending1"_s), ack(u"a"_s, 1, 10, u"-"_s)};
    QTest::newRow("cancel in flight: kept, not resent, a later ack resolves it")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), enqueue(u"b"_s), take(0, u"a:sending1 b:sending1"_s),
               cancel(u"a"_s, u"maybe"_s), inFlight(1), cancel(u"a"_s, u"maybe"_s),
               take(20000, u"b:sending2"_s), outbox(u"a:sending1 b:sending2"_s),
               ack(u"a"_s, 1, 20010, u"a:sent1#1"_s), outbox(u"b:sending2"_s)};
    QTest::newRow("cancel in flight, an echo resolves it")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), take(0, u"a:sending1"_s), cancel(u"a"_s, u"maybe"_s),
               echo(u"a"_s, 4, 10, u"a:sent1#4"_s), outbox({})};
    QTest::newRow("cancel after linkLost: not resent, forget drops it")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), take(0, u"a:sending1"_s), linkLost(10, u"a:queued1?"_s),
               cancel(u"a"_s, u"maybe"_s), take(20, {}), take(60000, {}), outbox(u"a:queued1?"_s),
               forget(u"a"_s, u"true"_s), outbox({})};
    QTest::newRow("cancel in flight, then the link drops")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), take(0, u"a:sending1"_s), cancel(u"a"_s, u"maybe"_s),
               linkLost(10, u"a:queued1?"_s), take(20, {}), ack(u"a"_s, 3, 30, u"a:sent1?#3"_s)};
    QTest::newRow("cancel of a Failed message removes it")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), take(0, u"a:sending1"_s),
               fail(u"a"_s, E::Forbidden, std::nullopt, 10, u"a:failed1"_s),
               cancel(u"a"_s, u"removed"_s), outbox({})};
    QTest::newRow("cancel of an acked or unknown message")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), take(0, u"a:sending1"_s), ack(u"a"_s, 1, 10, u"a:sent1#1"_s),
               cancel(u"a"_s, u"no"_s), cancel(u"zz"_s, u"no"_s)};
    QTest::newRow("cancelled, then refused: an ordinary Failed message")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), take(0, u"a:sending1"_s), cancel(u"a"_s, u"maybe"_s),
               fail(u"a"_s, E::BadRequest, std::nullopt, 10, u"a:failed1"_s),
               retry(u"a"_s, u"a:queued1"_s), take(20, u"a:sending2"_s)};
    QTest::newRow("retry of a Failed message")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), retry(u"a"_s, u"-"_s), take(0, u"a:sending1"_s),
               retry(u"a"_s, u"-"_s), fail(u"a"_s, E::TooLarge, std::nullopt, 10, u"a:failed1"_s),
               retry(u"a"_s, u"a:queued1"_s), retry(u"a"_s, u"-"_s), take(20, u"a:sending2"_s),
               ack(u"a"_s, 9, 30, u"a:sent2#9"_s), retry(u"zz"_s, u"-"_s)};
    QTest::newRow("forget only Failed or cancelled messages")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), forget(u"a"_s, u"false"_s), take(0, u"a:sending1"_s),
               forget(u"a"_s, u"false"_s),
               fail(u"a"_s, E::NotFound, std::nullopt, 10, u"a:failed1"_s),
               forget(u"a"_s, u"true"_s), forget(u"a"_s, u"false"_s), outbox({}),
               forget(u"zz"_s, u"false"_s)};
}

void TestOutbox::scenarios()
{
    QFETCH(OutboxOptions, options);
    QFETCH(Steps, steps);
    runSteps(options, steps);
}

void TestOutbox::deadlines_data()
{
    QTest::addColumn<OutboxOptions>("options");
    QTest::addColumn<Steps>("steps");

    using E = ErrorCode;
    QTest::newRow("nothing waits") << OutboxOptions {} << Steps {deadline(-1)};
    QTest::newRow("Queued messages do not wait on time")
        << OutboxOptions {} << Steps {enqueue(u"a"_s), deadline(-1)};
    QTest::newRow("the earliest ack deadline")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), take(1000, u"a:sending1"_s), deadline(16000), enqueue(u"b"_s),
               take(2000, u"b:sending1"_s), deadline(16000), ack(u"a"_s, 1, 3000, u"a:sent1#1"_s),
               deadline(17000), take(17000, u"b:sending2"_s), deadline(32000)};
    QTest::newRow("Failed messages do not wait")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), take(0, u"a:sending1"_s),
               fail(u"a"_s, E::NotFound, std::nullopt, 10, u"a:failed1"_s), deadline(-1)};
    QTest::newRow("cancelled messages do not wait")
        << OutboxOptions {}
        << Steps {
               enqueue(u"a"_s), take(0, u"a:sending1"_s), cancel(u"a"_s, u"maybe"_s), deadline(-1)};
    QTest::newRow("the end of a pause")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), enqueue(u"b"_s), take(0, u"a:sending1 b:sending1"_s),
               fail(u"a"_s, E::RateLimited, 2000, 100, u"a:queued1"_s), deadline(2100),
               take(2100, u"a:sending2"_s), deadline(15000)};
    QTest::newRow("a pause pushes ack deadlines back")
        << window(100, 1000)
        << Steps {enqueue(u"a"_s), enqueue(u"b"_s), take(0, u"a:sending1 b:sending1"_s),
               fail(u"a"_s, E::Unavailable, 5000, 100, u"a:queued1"_s), deadline(5100),
               take(3000, {}), deadline(5100), take(5100, u"a:sending2 b:sending2"_s),
               deadline(6100)};
    QTest::newRow("an expired pause ends at the next takeReady")
        << window(1)
        << Steps {enqueue(u"a"_s), enqueue(u"b"_s), take(0, u"a:sending1"_s),
               fail(u"a"_s, E::RateLimited, 500, 100, u"a:queued1"_s), deadline(600),
               take(700, u"a:sending2"_s), deadline(15700), outbox(u"a:sending2 b:queued0"_s)};
    QTest::newRow("a pause with nothing left to send")
        << OutboxOptions {}
        << Steps {enqueue(u"a"_s), take(0, u"a:sending1"_s),
               fail(u"a"_s, E::RateLimited, 500, 100, u"a:queued1"_s), deadline(600),
               cancel(u"a"_s, u"maybe"_s), deadline(-1)};
}

void TestOutbox::deadlines()
{
    QFETCH(OutboxOptions, options);
    QFETCH(Steps, steps);
    runSteps(options, steps);
}

void TestOutbox::sendErrors_data()
{
    QTest::addColumn<ErrorCode>("code");
    QTest::addColumn<bool>("permanent");

    // Every ErrorCode: only those that would refuse the same frame again are permanent.
    QTest::newRow("bad_request") << ErrorCode::BadRequest << true;
    QTest::newRow("unknown_type") << ErrorCode::UnknownType << true;
    QTest::newRow("not_found") << ErrorCode::NotFound << true;
    QTest::newRow("forbidden") << ErrorCode::Forbidden << true;
    QTest::newRow("too_large") << ErrorCode::TooLarge << true;
    QTest::newRow("unauthenticated") << ErrorCode::Unauthenticated << false;
    QTest::newRow("auth_failed") << ErrorCode::AuthFailed << false;
    QTest::newRow("user_exists") << ErrorCode::UserExists << false;
    QTest::newRow("rate_limited") << ErrorCode::RateLimited << false;
    QTest::newRow("unavailable") << ErrorCode::Unavailable << false;
    QTest::newRow("internal") << ErrorCode::Internal << false;
}

void TestOutbox::sendErrors()
{
    QFETCH(ErrorCode, code);
    QFETCH(bool, permanent);
    QCOMPARE(isPermanentSendError(code), permanent);

    Outbox outbox;
    const ChatMessage queued = outbox.enqueue(Me, Peer, u"hi"_s, 0);
    QCOMPARE(outbox.takeReady(0).size(), 1);
    const auto failed = outbox.failed(queued.cid, {u"r1"_s, code, u"why"_s, std::nullopt}, 100);
    QVERIFY(failed);
    QCOMPARE(outbox.find(queued.cid), failed);
    if (permanent) {
        QCOMPARE(failed->state, MessageState::Failed);
        QCOMPARE(failed->failure, u"why"_s);
        QCOMPARE(failed->failedAt, qint64(100));
        QVERIFY(!failed->isPending());
        QCOMPARE(outbox.nextDeadlineMs(), qint64(-1));
        QVERIFY(outbox.takeReady(100000).isEmpty());
    } else {
        QCOMPARE(failed->state, MessageState::Queued);
        QVERIFY(failed->failure.isEmpty());
        QCOMPARE(failed->failedAt, qint64(0));
        QCOMPARE(outbox.nextDeadlineMs(), qint64(1100));
        QVERIFY(outbox.takeReady(1099).isEmpty());
        const QList<ChatMessage> resent = outbox.takeReady(1100);
        QCOMPARE(resent.size(), 1);
        QCOMPARE(resent.constFirst().cid, queued.cid);
        QCOMPARE(resent.constFirst().attempts, 2);
    }
}

void TestOutbox::enqueueFillsTheMessage()
{
    Outbox outbox;
    // The conversation id sorts the members whichever side sends.
    const ChatMessage m = outbox.enqueue(Peer, Me, u"hello"_s, 1234);
    QCOMPARE(m.conv, Conv);
    QCOMPARE(m.from, Peer);
    QCOMPARE(m.to, Me);
    QCOMPARE(m.body, u"hello"_s);
    QVERIFY(m.outgoing);
    QVERIFY(!m.gap);
    QCOMPARE(m.state, MessageState::Queued);
    QCOMPARE(m.seq, qint64(0));
    QCOMPARE(m.attempts, 0);
    QVERIFY(!m.maybeSent);
    QCOMPARE(m.ts, qint64(1234));
    QCOMPARE(m.queuedAt, qint64(1234));
    QVERIFY(m.isPending());
    const QUuid uuid(m.cid);
    QVERIFY(!uuid.isNull());
    QCOMPARE(uuid.toString(QUuid::WithoutBraces), m.cid);

    const ChatMessage other = outbox.enqueue(Peer, Me, u"hello"_s, 1234);
    QVERIFY(other.cid != m.cid);
    QCOMPARE(outbox.messages(), (QList<ChatMessage> {m, other}));
    QCOMPARE(outbox.find(m.cid), std::optional<ChatMessage>(m));
    QVERIFY(!outbox.find(u"zz"_s));
    QVERIFY(!outbox.isEmpty());
}

void TestOutbox::timestampsForEachStep()
{
    Outbox outbox;
    const QString cid = outbox.enqueue(Me, Peer, u"hi"_s, 1000).cid;

    ChatMessage m = outbox.takeReady(2000).constFirst();
    QCOMPARE(m.queuedAt, qint64(1000));
    QCOMPARE(m.sendingAt, qint64(2000));
    QCOMPARE(m.ts, qint64(1000)); // the time it was queued, until the server stamps it

    m = outbox.takeReady(17000).constFirst(); // ack overdue: resent
    QCOMPARE(m.sendingAt, qint64(17000));
    QCOMPARE(m.attempts, 2);

    m = *outbox.failed(cid, {u"r"_s, ErrorCode::NotFound, u"no such user"_s, std::nullopt}, 17500);
    QCOMPARE(m.failedAt, qint64(17500));
    QCOMPARE(m.failure, u"no such user"_s);

    m = *outbox.retry(cid, 18000);
    QCOMPARE(m.failedAt, qint64(0));
    QVERIFY(m.failure.isEmpty());
    QCOMPARE(m.queuedAt, qint64(1000)); // still in its original place

    m = outbox.takeReady(19000).constFirst();
    QCOMPARE(m.sendingAt, qint64(19000));
    QCOMPARE(m.attempts, 3);

    m = *outbox.acked({u"r"_s, cid, Conv, 42, ServerTsBase, true}, 19500);
    QCOMPARE(m.state, MessageState::Sent);
    QCOMPARE(m.seq, qint64(42));
    QCOMPARE(m.ts, ServerTsBase);
    QCOMPARE(m.sentAt, qint64(19500));
    QCOMPARE(m.queuedAt, qint64(1000));
    QCOMPARE(m.sendingAt, qint64(19000));
    QCOMPARE(m.conv, Conv);
    QVERIFY(!m.isPending());
    QVERIFY(outbox.isEmpty());
}

void TestOutbox::restore()
{
    Outbox outbox;
    ChatMessage failed = stored(u"c-failed"_s, MessageState::Failed, 1);
    failed.failure = u"refused"_s;
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"not restoring .*c-acked"_s));
    outbox.restore({stored(u"c-queued"_s, MessageState::Queued, 0),
        stored(u"c-sending"_s, MessageState::Sending, 1), failed,
        stored(u"c-acked"_s, MessageState::Sent, 1),
        stored(u"c-never"_s, MessageState::Queued, 0)});

    const QList<ChatMessage> messages = outbox.messages();
    QCOMPARE(messages.size(), 4); // the Sent one does not belong in an outbox
    QCOMPARE(messages.at(0), stored(u"c-queued"_s, MessageState::Queued, 0));
    ChatMessage wasSending = stored(u"c-sending"_s, MessageState::Queued, 1);
    wasSending.maybeSent = true;
    QCOMPARE(messages.at(1), wasSending);
    QCOMPARE(messages.at(2), failed);
    QCOMPARE(messages.at(3).cid, u"c-never"_s);
    QCOMPARE(outbox.inFlight(), 0);

    // The one that may have reached the server can only be cancelled honestly.
    QCOMPARE(outbox.cancel(u"c-never"_s, 300), Outbox::CancelResult::Removed);
    QCOMPARE(outbox.cancel(u"c-sending"_s, 300), Outbox::CancelResult::MayHaveBeenSent);
    QCOMPARE(outbox.forget(u"c-sending"_s), true);

    // Restored messages leave in their order; the Failed one stays put.
    Outbox restarted;
    restarted.restore({stored(u"c-queued"_s, MessageState::Queued, 0),
        stored(u"c-sending"_s, MessageState::Sending, 1), failed});
    const QList<ChatMessage> ready = restarted.takeReady(1000);
    QCOMPARE(ready.size(), 2);
    QCOMPARE(ready.at(0).cid, u"c-queued"_s);
    QCOMPARE(ready.at(0).attempts, 1);
    QCOMPARE(ready.at(0).sendingAt, qint64(1000));
    QCOMPARE(ready.at(1).cid, u"c-sending"_s); // the same cid again: the server dedupes
    QCOMPARE(ready.at(1).attempts, 2);
    QVERIFY(ready.at(1).maybeSent);
    QCOMPARE(restarted.find(u"c-failed"_s)->state, MessageState::Failed);

    // A message cancelled as "may have been sent" keeps that mark across a restart: it is
    // never sent again, and its late ack still resolves it.
    ChatMessage cancelled = stored(u"c-cancelled"_s, MessageState::Sending, 1);
    cancelled.cancelled = true;
    Outbox again;
    again.restore({cancelled});
    QVERIFY(again.takeReady(2000).isEmpty());
    QVERIFY(again.find(u"c-cancelled"_s)->cancelled);
    QCOMPARE(again.acked({{}, u"c-cancelled"_s, Conv, 7, 2500, true}, 2500)->seq, qint64(7));
}

// The user may send before the stored outbox has been read back: restored messages were
// queued earlier and go first; one that is already here is not doubled.
void TestOutbox::restoreAfterEnqueue()
{
    Outbox outbox;
    const ChatMessage fresh = outbox.enqueue(Me, Peer, u"new"_s, 500);
    outbox.restore({stored(u"c-old"_s, MessageState::Queued, 0), fresh});
    const QList<ChatMessage> messages = outbox.messages();
    QCOMPARE(messages.size(), 2);
    QCOMPARE(messages.at(0).cid, u"c-old"_s);
    QCOMPARE(messages.at(1), fresh);
}

QTEST_GUILESS_MAIN(TestOutbox)
#include "tst_outbox.moc"
