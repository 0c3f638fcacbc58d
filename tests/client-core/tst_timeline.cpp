// TimelineBuffer: whatever order pushes, history pages and sync results arrive in, each
// seq comes out once, in order, with as few history fetches as possible. TypingThrottle:
// the start/stop rhythm of typing notifications.
#include "timeline.h"

#include <QRandomGenerator>
#include <QSet>
#include <QTest>

#include <algorithm>

using namespace Qt::StringLiterals;
using parley::client::ChatMessage;
using parley::client::TimelineBuffer;
using parley::client::TypingThrottle;

namespace {

// One thing that happens to the buffer.
struct Event
{
    enum Kind { Push, Page, KnownLast, SkipTo, Abandon };
    Kind kind = Push;
    QList<qint64> seqs; // Push: one seq; Page: the page's entries, ascending
    QList<qint64> gaps; // the entries of `seqs` that are gap entries
    bool more = false; // Page
    qint64 value = 0; // KnownLast, SkipTo
};
using Events = QList<Event>;

enum Flag { Message, Gap };
enum PageEnd { NoMore, More };

Event push(qint64 seq, Flag flag = Message)
{
    return {Event::Push, {seq}, flag == Gap ? QList<qint64> {seq} : QList<qint64> {}};
}
Event page(QList<qint64> seqs, PageEnd end, QList<qint64> gaps = {})
{
    return {Event::Page, std::move(seqs), std::move(gaps), end == More};
}
Event knownLast(qint64 seq)
{
    return {Event::KnownLast, {}, {}, false, seq};
}
Event skipTo(qint64 seq)
{
    return {Event::SkipTo, {}, {}, false, seq};
}
Event abandon()
{
    return {Event::Abandon};
}

QList<qint64> range(qint64 first, qint64 last)
{
    QList<qint64> seqs;
    for (qint64 seq = first; seq <= last; ++seq)
        seqs.append(seq);
    return seqs;
}

// The conversation as the server stores it: the body names the seq, so a released
// message can be checked against what was fed.
ChatMessage stored(qint64 seq, bool gap)
{
    ChatMessage message;
    message.conv = u"alice:bob"_s;
    message.seq = seq;
    message.gap = gap;
    if (!gap) {
        message.from = u"bob"_s;
        message.to = u"alice"_s;
        message.cid = u"c"_s + QString::number(seq);
        message.body = u"message "_s + QString::number(seq);
        message.ts = 1000 + seq;
    }
    return message;
}

// Feeds events and collects everything the buffer answered.
struct Harness
{
    explicit Harness(qint64 contiguous)
        : buffer(contiguous)
    { }

    void apply(const Event &event)
    {
        switch (event.kind) {
        case Event::Push:
            collect(buffer.add(stored(event.seqs.constFirst(), !event.gaps.isEmpty())));
            break;
        case Event::Page: {
            QList<ChatMessage> messages;
            for (const qint64 seq : event.seqs)
                messages.append(stored(seq, event.gaps.contains(seq)));
            collect(buffer.addPage(messages, event.more));
            break;
        }
        case Event::KnownLast:
            collect(buffer.knownLast(event.value));
            break;
        case Event::SkipTo:
            collect(buffer.skipTo(event.value));
            break;
        case Event::Abandon:
            buffer.fetchAbandoned();
            break;
        }
    }

    void collect(const TimelineBuffer::Result &result)
    {
        for (const ChatMessage &message : result.released) {
            released.append(message.seq);
            if (message != stored(message.seq, message.gap))
                wrongContent.append(message.seq);
            if (message.gap)
                releasedGaps.append(message.seq);
        }
        if (result.fetchAfter)
            fetches.append(*result.fetchAfter);
        duplicates += result.duplicates;
    }

    TimelineBuffer buffer;
    QList<qint64> released;
    QList<qint64> releasedGaps;
    QList<qint64> wrongContent;
    QList<qint64> fetches;
    int duplicates = 0;
};

QByteArray seqList(const QList<qint64> &seqs)
{
    QByteArray text;
    for (const qint64 seq : seqs)
        text += (text.isEmpty() ? "" : " ") + QByteArray::number(seq);
    return text;
}

} // namespace

Q_DECLARE_METATYPE(Event)
Q_DECLARE_METATYPE(TypingThrottle::Emit)

class TestTimeline : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void arrivals_data();
    void arrivals();
    void randomArrivals();
    void accessors();
    void typing_data();
    void typing();
};

void TestTimeline::arrivals_data()
{
    QTest::addColumn<qint64>("contiguous");
    QTest::addColumn<Events>("events");
    QTest::addColumn<QList<qint64>>("released");
    QTest::addColumn<QList<qint64>>("fetches"); // fetchAfter values, in order
    QTest::addColumn<int>("duplicates");

    QTest::newRow("in order") << qint64(0) << Events {push(1), push(2), push(3)} << range(1, 3)
                              << QList<qint64> {} << 0;
    QTest::newRow("in order after the cache")
        << qint64(40) << Events {push(41), push(42)} << range(41, 42) << QList<qint64> {} << 0;
    QTest::newRow("reversed") << qint64(0) << Events {push(5), push(4), push(3), push(2), push(1)}
                              << range(1, 5) << QList<qint64> {0} << 0;
    QTest::newRow("duplicates interleaved")
        << qint64(0)
        << Events {push(1), push(1), push(3), push(2), push(3), push(2), push(1), push(4)}
        << range(1, 4) << QList<qint64> {1} << 4;
    QTest::newRow("replay at or below the cache")
        << qint64(10) << Events {push(9), push(10), push(11), push(10)} << range(11, 11)
        << QList<qint64> {} << 3;
    QTest::newRow("gap entry in the middle")
        << qint64(0) << Events {push(1), push(3), page({2, 3}, NoMore, {2}), push(4)} << range(1, 4)
        << QList<qint64> {1} << 1;
    QTest::newRow("gap entries at the edges of a page")
        << qint64(0) << Events {knownLast(4), page({1, 2, 3, 4}, NoMore, {1, 4})} << range(1, 4)
        << QList<qint64> {0} << 0;
    QTest::newRow("pushed gap entry")
        << qint64(0) << Events {push(2), push(1, Gap)} << range(1, 2) << QList<qint64> {0} << 0;
    QTest::newRow("history page overlapping pushes")
        << qint64(0)
        << Events {push(1), push(4), push(5), page(range(2, 6), NoMore), push(6), push(7)}
        << range(1, 7) << QList<qint64> {1} << 3;
    QTest::newRow("page with more, then the rest")
        << qint64(0)
        << Events {knownLast(6), page({1, 2, 3}, More), page({4, 5, 6}, NoMore), knownLast(6)}
        << range(1, 6) << QList<qint64> {0, 3} << 0;
    QTest::newRow("knownLast above contiguous, nothing pushed")
        << qint64(10)
        << Events {knownLast(5), knownLast(12), knownLast(13), page(range(11, 13), NoMore)}
        << range(11, 13) << QList<qint64> {10} << 0;
    QTest::newRow("knownLast at contiguous asks nothing")
        << qint64(7) << Events {knownLast(7), push(8)} << range(8, 8) << QList<qint64> {} << 0;
    QTest::newRow("skipTo with held messages")
        << qint64(0)
        << Events {push(98), push(101), push(102), push(104), skipTo(100), page({1, 2, 3}, More),
               page({103, 104, 105}, NoMore)}
        << QList<qint64> {101, 102, 103, 104, 105} << QList<qint64> {0, 102} << 4;
    QTest::newRow("skipTo below contiguous does nothing")
        << qint64(5) << Events {skipTo(3), push(6)} << range(6, 6) << QList<qint64> {} << 0;
    QTest::newRow("skipTo, then knownLast fetches after it")
        << qint64(0) << Events {skipTo(50), knownLast(52), page({51, 52}, NoMore)} << range(51, 52)
        << QList<qint64> {50} << 0;
    QTest::newRow("pushes while a fetch is in flight: one fetch")
        << qint64(0)
        << Events {push(1), push(3), push(4), push(5), push(6), page(range(2, 6), NoMore)}
        << range(1, 6) << QList<qint64> {1} << 4;
    Events burst {push(1)};
    for (qint64 seq = 3; seq <= 600; ++seq)
        burst.append(push(seq));
    burst << page(range(2, 501), More) << page({}, NoMore);
    QTest::newRow("burst past a missing seq: one fetch per page")
        << qint64(0) << burst << range(1, 600) << QList<qint64> {1, 600} << 499;
    QTest::newRow("fetchAbandoned, then a new fetch")
        << qint64(0) << Events {push(1), push(3), abandon(), push(4), page({2, 3, 4}, NoMore)}
        << range(1, 4) << QList<qint64> {1, 1} << 2;
    QTest::newRow("fetchAbandoned, then knownLast asks again")
        << qint64(0) << Events {push(3), abandon(), knownLast(3), page(range(1, 3), NoMore)}
        << range(1, 3) << QList<qint64> {0, 0} << 1;
    QTest::newRow("abandoned fetch, filled by a push, still missing more")
        << qint64(0) << Events {knownLast(3), abandon(), push(1), page({2, 3}, NoMore)}
        << range(1, 3) << QList<qint64> {0, 1} << 0;
    QTest::newRow("page that fills nothing does not loop")
        << qint64(0) << Events {push(1), push(3), page({}, NoMore), push(2)} << range(1, 3)
        << QList<qint64> {1} << 0;
    QTest::newRow("after a page that fills nothing, the next push asks again")
        << qint64(0)
        << Events {push(1), push(3), page({}, NoMore), push(4), page({2, 3, 4}, NoMore)}
        << range(1, 4) << QList<qint64> {1, 1} << 2;
    QTest::newRow("page that moves but leaves a hole asks again")
        << qint64(0) << Events {push(5), page({1, 2}, NoMore), page({3, 4, 5}, NoMore)}
        << range(1, 5) << QList<qint64> {0, 2} << 1;
}

void TestTimeline::arrivals()
{
    QFETCH(qint64, contiguous);
    QFETCH(Events, events);
    QFETCH(QList<qint64>, released);
    QFETCH(QList<qint64>, fetches);
    QFETCH(int, duplicates);

    Harness h(contiguous);
    QSet<qint64> fedGaps;
    for (const Event &event : std::as_const(events)) {
        h.apply(event);
        for (const qint64 seq : event.gaps)
            fedGaps.insert(seq);
    }

    QCOMPARE(h.released, released);
    QCOMPARE(h.fetches, fetches);
    QCOMPARE(h.duplicates, duplicates);
    QVERIFY2(h.wrongContent.isEmpty(), seqList(h.wrongContent).constData());
    QList<qint64> expectedGaps;
    for (const qint64 seq : std::as_const(released)) {
        if (fedGaps.contains(seq))
            expectedGaps.append(seq);
    }
    QCOMPARE(h.releasedGaps, expectedGaps);
    QCOMPARE(h.buffer.contiguous(), released.isEmpty() ? contiguous : released.constLast());
    QCOMPARE(h.buffer.heldCount(), 0);
}

// 200 shuffled arrivals of seqs 1..300 (some of them gap entries, which only history
// reports), with duplicate pushes, randomly served history fetches and dropped links.
// Every seq must come out exactly once, in order, and no fetch is asked while one is
// outstanding.
void TestTimeline::randomArrivals()
{
    constexpr qint64 LastSeq = 300;
    for (quint32 seed = 1; seed <= 200; ++seed) {
        QRandomGenerator random(seed);
        QSet<qint64> gaps;
        while (gaps.size() < 4)
            gaps.insert(random.bounded(1, int(LastSeq) + 1));

        QList<qint64> pushes;
        for (qint64 seq = 1; seq <= LastSeq; ++seq) {
            if (gaps.contains(seq))
                continue;
            pushes.append(seq);
            if (random.bounded(10) == 0)
                pushes.append(seq); // a replayed push
        }
        std::shuffle(pushes.begin(), pushes.end(), random);

        Harness h(0);
        std::optional<qint64> outstanding;
        const QByteArray context = "seed " + QByteArray::number(seed);
        auto collect = [&](const TimelineBuffer::Result &result) {
            if (result.fetchAfter) {
                QVERIFY2(!outstanding, context.constData());
                outstanding = result.fetchAfter;
            }
            h.collect(result);
        };
        // The server's answer to `history after <outstanding>`, up to `limit` entries.
        auto serve = [&](qint64 limit) {
            const qint64 after = *outstanding;
            const qint64 last = std::min(LastSeq, after + limit);
            QList<ChatMessage> messages;
            for (qint64 seq = after + 1; seq <= last; ++seq)
                messages.append(stored(seq, gaps.contains(seq)));
            outstanding.reset();
            collect(h.buffer.addPage(messages, last < LastSeq));
        };

        for (const qint64 seq : std::as_const(pushes)) {
            collect(h.buffer.add(stored(seq, false)));
            if (outstanding && random.bounded(8) == 0)
                serve(random.bounded(1, 60));
            else if (outstanding && random.bounded(50) == 0) {
                h.buffer.fetchAbandoned(); // the link dropped
                outstanding.reset();
            }
        }
        // Reconnected: the sync reports the last seq; fetch until caught up.
        collect(h.buffer.knownLast(LastSeq));
        for (int round = 0; outstanding && round < 1000; ++round)
            serve(500);

        QVERIFY2(!outstanding, context.constData());
        QVERIFY2(h.released == range(1, LastSeq),
            QByteArray(context + ": " + seqList(h.released)).constData());
        QVERIFY2(h.wrongContent.isEmpty(), context.constData());
        QList<qint64> sortedGaps = gaps.values();
        std::sort(sortedGaps.begin(), sortedGaps.end());
        QVERIFY2(h.releasedGaps == sortedGaps, context.constData());
        QCOMPARE(h.buffer.heldCount(), 0);
    }
}

void TestTimeline::accessors()
{
    TimelineBuffer buffer(3);
    QCOMPARE(buffer.contiguous(), qint64(3));
    QCOMPARE(buffer.knownLast(), qint64(3));

    buffer.add(stored(6, false));
    buffer.add(stored(8, false));
    QCOMPARE(buffer.contiguous(), qint64(3));
    QCOMPARE(buffer.knownLast(), qint64(8));
    QCOMPARE(buffer.heldCount(), 2);
    QVERIFY(buffer.fetchInFlight());

    buffer.fetchAbandoned();
    QVERIFY(!buffer.fetchInFlight());

    const TimelineBuffer::Result result
        = buffer.addPage({stored(4, false), stored(5, true)}, false);
    QCOMPARE(result.released.size(), 3); // 4, 5 and the held 6
    QCOMPARE(buffer.contiguous(), qint64(6));
    QCOMPARE(buffer.heldCount(), 1);
    QCOMPARE(result.fetchAfter, std::optional<qint64>(6)); // 7 is still missing
    QVERIFY(buffer.fetchInFlight());
}

void TestTimeline::typing_data()
{
    // Each step: "type@t", "clear@t" or "tick@t"; then what it emitted and the
    // deadline afterwards.
    QTest::addColumn<QStringList>("steps");
    QTest::addColumn<QList<TypingThrottle::Emit>>("emits");
    QTest::addColumn<QList<qint64>>("deadlines");

    using E = TypingThrottle::Emit;
    QTest::newRow("first keystroke starts")
        << QStringList {u"type@1000"_s} << QList<E> {E::Start} << QList<qint64> {6000};
    QTest::newRow("a start every 3 s while typing")
        << QStringList {u"type@0"_s, u"type@1000"_s, u"type@2999"_s, u"type@3000"_s, u"type@4000"_s,
               u"type@6000"_s}
        << QList<E> {E::Start, E::Nothing, E::Nothing, E::Start, E::Nothing, E::Start}
        << QList<qint64> {5000, 6000, 7999, 8000, 9000, 11000};
    QTest::newRow("stop after 5 s idle")
        << QStringList {u"type@0"_s, u"tick@4999"_s, u"tick@5000"_s, u"tick@9000"_s}
        << QList<E> {E::Start, E::Nothing, E::Stop, E::Nothing}
        << QList<qint64> {5000, 5000, -1, -1};
    QTest::newRow("a keystroke postpones the stop")
        << QStringList {u"type@0"_s, u"type@2000"_s, u"tick@5000"_s, u"tick@7000"_s}
        << QList<E> {E::Start, E::Nothing, E::Nothing, E::Stop}
        << QList<qint64> {5000, 7000, 7000, -1};
    QTest::newRow("clearing stops once")
        << QStringList {u"type@0"_s, u"clear@1500"_s, u"clear@1600"_s, u"tick@6000"_s}
        << QList<E> {E::Start, E::Stop, E::Nothing, E::Nothing} << QList<qint64> {5000, -1, -1, -1};
    QTest::newRow("a stop right behind its start waits 1 s (the server's typing limit)")
        << QStringList {u"type@0"_s, u"clear@100"_s, u"tick@999"_s, u"tick@1000"_s, u"tick@2000"_s}
        << QList<E> {E::Start, E::Nothing, E::Nothing, E::Stop, E::Nothing}
        << QList<qint64> {5000, 1000, 1000, -1, -1};
    QTest::newRow("typing again before the deferred stop cancels it")
        << QStringList {u"type@0"_s, u"clear@100"_s, u"type@500"_s, u"tick@1000"_s}
        << QList<E> {E::Start, E::Nothing, E::Nothing, E::Nothing}
        << QList<qint64> {5000, 1000, 5500, 5500};
    QTest::newRow("clearing without typing")
        << QStringList {u"clear@0"_s, u"tick@10000"_s} << QList<E> {E::Nothing, E::Nothing}
        << QList<qint64> {-1, -1};
    QTest::newRow("typing again after a stop starts at once")
        << QStringList {u"type@0"_s, u"clear@1500"_s, u"type@2000"_s}
        << QList<E> {E::Start, E::Stop, E::Start} << QList<qint64> {5000, -1, 7000};
}

void TestTimeline::typing()
{
    QFETCH(QStringList, steps);
    QFETCH(QList<TypingThrottle::Emit>, emits);
    QFETCH(QList<qint64>, deadlines);
    QCOMPARE(emits.size(), steps.size());
    QCOMPARE(deadlines.size(), steps.size());

    TypingThrottle throttle;
    QCOMPARE(throttle.nextDeadlineMs(), qint64(-1));
    for (qsizetype i = 0; i < steps.size(); ++i) {
        const QStringList parts = steps.at(i).split(u'@');
        const qint64 at = parts.at(1).toLongLong();
        const QString action = parts.at(0);
        const TypingThrottle::Emit emitted
            = action == u"tick"_s ? throttle.tick(at) : throttle.input(action == u"type"_s, at);
        QVERIFY2(emitted == emits.at(i), qPrintable(steps.at(i)));
        QVERIFY2(throttle.nextDeadlineMs() == deadlines.at(i),
            qPrintable(
                steps.at(i) + u": deadline "_s + QString::number(throttle.nextDeadlineMs())));
    }
}

QTEST_GUILESS_MAIN(TestTimeline)
#include "tst_timeline.moc"
