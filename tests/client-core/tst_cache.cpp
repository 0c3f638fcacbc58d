// tst_cache: the Cache on temporary database files and in memory. Schema and
// migrations, the write rules (idempotent saves, forward-only states, the ack path,
// receipts, read marks), the reads (paging, outbox rows, conversation list), ordering
// (a read sees every earlier write), callbacks and errors.
#include "cache.h"

#include <QDeadlineTimer>
#include <QDebug>
#include <QFile>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>
#include <QtEndian>

#include <atomic>
#include <optional>

using namespace Qt::StringLiterals;
using namespace parley::client;
using parley::protocol::ReceiptKind;

// Readable QCOMPARE failures.
namespace parley::client {
QDebug operator<<(QDebug debug, const ChatMessage &m)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "ChatMessage(" << m.conv << " seq " << m.seq << " cid " << m.cid << ' '
                    << m.from << "->" << m.to << ' ' << m.body << " ts " << m.ts
                    << (m.outgoing ? " out " : " in ") << (m.gap ? "gap " : "")
                    << messageStateName(m.state) << ' ' << m.failure << " maybeSent " << m.maybeSent
                    << " attempts " << m.attempts << " at " << m.queuedAt << '/' << m.sendingAt
                    << '/' << m.sentAt << '/' << m.deliveredAt << '/' << m.readAt << '/'
                    << m.failedAt << ')';
    return debug;
}

QDebug operator<<(QDebug debug, const ConversationInfo &c)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "ConversationInfo(" << c.conv << " peer " << c.peer << " last " << c.lastSeq
                    << '@' << c.lastTs << ' ' << c.lastFrom << ": " << c.lastBody << " contiguous "
                    << c.contiguousSeq << " floor " << c.floorSeq << " read " << c.readUpTo
                    << " peer " << c.peerDelivered << '/' << c.peerRead << " unread " << c.unread
                    << ')';
    return debug;
}
} // namespace parley::client

// Found by ADL for std::optional<QString> and std::optional<QList<...>>.
template<typename T> QDebug operator<<(QDebug debug, const std::optional<T> &value)
{
    if (value)
        return debug << *value;
    return debug << "(no answer from the cache)";
}

namespace {

constexpr int kWaitMs = 10000; // a generous bound for one cache round trip
const QString kConv = u"alice:bob"_s; // the signed-in user is alice

// Runs one Cache request and spins the event loop until its callback ran.
template<typename T, typename Call> std::optional<T> await(Call call)
{
    std::optional<T> result;
    QObject context; // destroyed on return, so a late answer cannot reach `result`
    call(&context, [&result](T value) { result = std::move(value); });
    const bool answered = QTest::qWaitFor([&result] { return result.has_value(); }, kWaitMs);
    return answered ? result : std::nullopt;
}

std::optional<QString> openCache(Cache &cache, const QString &path)
{
    return await<QString>([&](QObject *context, auto done) { cache.open(path, context, done); });
}

std::optional<QList<ChatMessage>> loadMessages(
    Cache &cache, const QString &conv, qint64 beforeSeq = 0, int limit = 100)
{
    return await<QList<ChatMessage>>([&](QObject *context, auto done) {
        cache.loadMessages(conv, beforeSeq, limit, context, done);
    });
}

std::optional<QList<ChatMessage>> loadRange(Cache &cache, qint64 fromSeq, qint64 toSeq)
{
    return await<QList<ChatMessage>>([&](QObject *context, auto done) {
        cache.loadRange(kConv, fromSeq, toSeq, context, done);
    });
}

std::optional<QList<ChatMessage>> loadOutbox(Cache &cache)
{
    return await<QList<ChatMessage>>(
        [&](QObject *context, auto done) { cache.loadOutbox(context, done); });
}

std::optional<QList<ConversationInfo>> loadConversations(Cache &cache)
{
    return await<QList<ConversationInfo>>(
        [&](QObject *context, auto done) { cache.loadConversations(context, done); });
}

// writesCommitted() when a flush issued now answers; -1 if it never does.
qint64 committedAfterFlush(Cache &cache)
{
    return await<qint64>([&](QObject *context, auto done) {
        cache.flush(context, [&cache, done] { done(cache.writesCommitted()); });
    }).value_or(-1);
}

// The SQLite file header keeps user_version at offset 60, big-endian
// (https://www.sqlite.org/fileformat.html): readable without opening the database.
int userVersion(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly) || !file.seek(60))
        return -1;
    const QByteArray bytes = file.read(4);
    return bytes.size() == 4 ? qFromBigEndian<qint32>(bytes.constData()) : -1;
}

bool setUserVersion(const QString &path, qint32 version)
{
    QFile file(path);
    char bytes[4];
    qToBigEndian(version, bytes);
    return file.open(QIODevice::ReadWrite) && file.seek(60) && file.write(bytes, 4) == 4;
}

ChatMessage incoming(qint64 seq, const QString &body = {})
{
    ChatMessage m;
    m.conv = kConv;
    m.seq = seq;
    m.cid = u"b-"_s + QString::number(seq);
    m.from = u"bob"_s;
    m.to = u"alice"_s;
    m.body = body.isEmpty() ? u"from bob "_s + QString::number(seq) : body;
    m.ts = 1000 + seq;
    return m;
}

ChatMessage acked(qint64 seq, MessageState state = MessageState::Sent)
{
    ChatMessage m;
    m.conv = kConv;
    m.seq = seq;
    m.cid = u"a-"_s + QString::number(seq);
    m.from = u"alice"_s;
    m.to = u"bob"_s;
    m.body = u"from alice "_s + QString::number(seq);
    m.ts = 1000 + seq;
    m.outgoing = true;
    m.state = state;
    m.attempts = 1;
    m.queuedAt = m.ts - 2;
    m.sendingAt = m.ts - 1;
    m.sentAt = m.ts;
    return m;
}

ChatMessage queued(const QString &cid, const QString &conv = kConv)
{
    ChatMessage m;
    m.conv = conv;
    m.cid = cid;
    m.from = u"alice"_s;
    m.to = conv.section(u':', 1);
    m.body = u"queued "_s + cid;
    m.ts = 5000;
    m.outgoing = true;
    m.state = MessageState::Queued;
    m.queuedAt = 5000;
    return m;
}

ChatMessage gap(qint64 seq, const QString &conv = kConv)
{
    ChatMessage m;
    m.conv = conv;
    m.seq = seq;
    m.gap = true;
    return m;
}

QList<qint64> seqs(const QList<ChatMessage> &messages)
{
    QList<qint64> result;
    for (const ChatMessage &m : messages)
        result.append(m.seq);
    return result;
}

QStringList cids(const QList<ChatMessage> &messages)
{
    QStringList result;
    for (const ChatMessage &m : messages)
        result.append(m.cid);
    return result;
}

} // namespace

class CacheTest : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void init();

    // opening, schema, errors
    void opensNewFileAtCurrentVersion();
    void migratesEmptyFile();
    void refusesNewerSchema();
    void reportsUnusableFile_data();
    void reportsUnusableFile();
    void reopeningKeepsData();
    void twoCachesInOneProcess();

    // writes
    void roundTripsEveryField_data();
    void roundTripsEveryField();
    void saveMessagesIsIdempotent();
    void outgoingStateOnlyMovesForward_data();
    void outgoingStateOnlyMovesForward();
    void outgoingTimestampsAreOnlyFilled();
    void incomingMessageKeepsItsRow();
    void ackRemovesOutboxRow();
    void outboxKeepsQueueOrder();
    void peerReceiptsMoveForward();
    void markReadCountsUnread();
    void updateConversationKeepsUnknownFields();

    // reads and ordering
    void loadMessagesPagesBackwards();
    void loadRangeExcludesGaps();
    void conversationsOrderedWithPreviews();
    void readSeesEarlierWrites();
    void flushWaitsForCommit();
    void callbacksSkipDestroyedContext_data();
    void callbacksSkipDestroyedContext();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    QString path(const QString &name) const { return m_dir->filePath(name); }
};

void CacheTest::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void CacheTest::opensNewFileAtCurrentVersion()
{
    const QString file = path(u"new/dir/alice.sqlite3"_s); // the directory is created too
    {
        Cache cache;
        QVERIFY(!cache.isOpen());
        QCOMPARE(openCache(cache, file), QString());
        QVERIFY(cache.isOpen());
    }
    QCOMPARE(userVersion(file), 2);
}

void CacheTest::migratesEmptyFile()
{
    const QString file = path(u"empty.sqlite3"_s);
    QFile empty(file);
    QVERIFY(empty.open(QIODevice::WriteOnly));
    empty.close();
    {
        Cache cache;
        QCOMPARE(openCache(cache, file), QString());
        cache.saveMessages({incoming(1)});
        QCOMPARE(loadMessages(cache, kConv), QList<ChatMessage>({incoming(1)}));
    }
    QCOMPARE(userVersion(file), 2);
}

void CacheTest::refusesNewerSchema()
{
    const QString file = path(u"future.sqlite3"_s);
    {
        Cache cache;
        QCOMPARE(openCache(cache, file), QString());
    }
    QVERIFY(setUserVersion(file, 7));

    Cache cache;
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"cannot open the cache .*newer"_s));
    const std::optional<QString> error = openCache(cache, file);
    QVERIFY(error);
    QVERIFY2(error->contains(u"newer"_s) && error->contains(file), qPrintable(*error));
    QVERIFY(!cache.isOpen());
    // A cache that failed to open answers every call, empty, and never crashes.
    cache.saveMessages({incoming(1)});
    cache.saveOutgoing(queued(u"q1"_s));
    QCOMPARE(loadMessages(cache, kConv), QList<ChatMessage>());
    QCOMPARE(loadConversations(cache), QList<ConversationInfo>());
    QCOMPARE(committedAfterFlush(cache), 0);
    QCOMPARE(userVersion(file), 7); // left alone
}

void CacheTest::reportsUnusableFile_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("content"); // written to `name` first when not empty
    QTest::addColumn<QString>("open"); // the database path, relative to the temp dir
    // A directory component that is a regular file: unwritable even for root.
    QTest::newRow("parent is a file")
        << u"blocker"_s << QByteArray("not a directory") << u"blocker/cache/alice.sqlite3"_s;
    QTest::newRow("corrupt file") << u"corrupt.sqlite3"_s << QByteArray(8192, 'x')
                                  << u"corrupt.sqlite3"_s;
}

void CacheTest::reportsUnusableFile()
{
    QFETCH(QString, name);
    QFETCH(QByteArray, content);
    QFETCH(QString, open);
    QFile blocker(path(name));
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    QCOMPARE(blocker.write(content), content.size());
    blocker.close();

    Cache cache;
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"cannot open the cache "_s));
    const std::optional<QString> error = openCache(cache, path(open));
    QVERIFY(error);
    QVERIFY2(!error->isEmpty() && error->contains(path(open)), qPrintable(*error));
    QVERIFY(!cache.isOpen());
    cache.saveMessages({incoming(1)});
    QCOMPARE(loadOutbox(cache), QList<ChatMessage>());
}

void CacheTest::reopeningKeepsData()
{
    const QString file = path(u"alice.sqlite3"_s);
    const QList<ChatMessage> history = {incoming(1), acked(2), gap(3), incoming(4)};
    {
        Cache cache;
        cache.open(file, nullptr, {});
        cache.saveMessages(history);
        cache.saveOutgoing(queued(u"q1"_s));
        cache.markRead(kConv, 1, 9000);
        cache.updateConversation({.conv = kConv, .contiguousSeq = 4});
        // Destroyed at once: the destructor commits what is still queued.
    }
    Cache cache;
    QCOMPARE(openCache(cache, file), QString());
    ChatMessage read = incoming(1);
    read.state = MessageState::Read;
    read.readAt = 9000;
    QCOMPARE(loadMessages(cache, kConv),
        QList<ChatMessage>({read, acked(2), incoming(4), queued(u"q1"_s)}));
    const std::optional<QList<ConversationInfo>> conversations = loadConversations(cache);
    QVERIFY(conversations);
    QCOMPARE(conversations->size(), 1);
    QCOMPARE(conversations->first().contiguousSeq, 4);
    QCOMPARE(conversations->first().readUpTo, 1);
    QCOMPARE(conversations->first().unread, 1);
}

void CacheTest::twoCachesInOneProcess()
{
    Cache first;
    Cache second;
    Cache inMemory;
    QCOMPARE(openCache(first, path(u"first.sqlite3"_s)), QString());
    QCOMPARE(openCache(second, path(u"second.sqlite3"_s)), QString());
    QCOMPARE(openCache(inMemory, QString()), QString());
    first.saveMessages({incoming(1)});
    second.saveMessages({incoming(2), incoming(3)});
    inMemory.saveOutgoing(queued(u"q1"_s));

    QCOMPARE(seqs(*loadMessages(first, kConv)), QList<qint64>({1}));
    QCOMPARE(seqs(*loadMessages(second, kConv)), QList<qint64>({2, 3}));
    QCOMPARE(cids(*loadMessages(inMemory, kConv)), QStringList({u"q1"_s}));
    QCOMPARE(first.writesCommitted(), 1);
    QCOMPARE(second.writesCommitted(), 1);
}

void CacheTest::roundTripsEveryField_data()
{
    QTest::addColumn<bool>("inMemory");
    QTest::newRow("file") << false;
    QTest::newRow("in memory") << true;
}

void CacheTest::roundTripsEveryField()
{
    QFETCH(bool, inMemory);
    Cache cache;
    QCOMPARE(openCache(cache, inMemory ? QString() : path(u"alice.sqlite3"_s)), QString());

    ChatMessage ours = acked(2, MessageState::Delivered);
    ours.attempts = 3;
    ours.deliveredAt = 1010;
    ChatMessage failed = queued(u"q-failed"_s);
    failed.state = MessageState::Failed;
    failed.failure = u"forbidden"_s;
    failed.maybeSent = true;
    failed.attempts = 2;
    failed.sendingAt = 5001;
    failed.failedAt = 5002;
    const ChatMessage theirs = incoming(1, u"héllo 👋 'quoted' \"text\"\nline two"_s);

    cache.saveMessages({theirs, ours, gap(3)});
    cache.saveOutgoing(failed);
    QCOMPARE(loadMessages(cache, kConv), QList<ChatMessage>({theirs, ours, failed}));
    QCOMPARE(loadOutbox(cache), QList<ChatMessage>({failed}));
}

void CacheTest::saveMessagesIsIdempotent()
{
    Cache cache;
    QCOMPARE(openCache(cache, QString()), QString());
    cache.saveMessages({incoming(1), incoming(1), acked(2)});
    cache.saveMessages({incoming(1), acked(2), gap(3), gap(3)});
    QCOMPARE(loadRange(cache, 0, 10), QList<ChatMessage>({incoming(1), acked(2)}));
    const std::optional<QList<ConversationInfo>> conversations = loadConversations(cache);
    QVERIFY(conversations);
    QCOMPARE(conversations->size(), 1);
    QCOMPARE(conversations->first().lastSeq, 3); // gaps exist on the server too
    QCOMPARE(conversations->first().unread, 1);
}

void CacheTest::outgoingStateOnlyMovesForward_data()
{
    QTest::addColumn<MessageState>("stored");
    QTest::addColumn<MessageState>("saved");
    QTest::addColumn<MessageState>("expected");
    QTest::newRow("sent then delivered")
        << MessageState::Sent << MessageState::Delivered << MessageState::Delivered;
    QTest::newRow("delivered then read")
        << MessageState::Delivered << MessageState::Read << MessageState::Read;
    QTest::newRow("sent then read")
        << MessageState::Sent << MessageState::Read << MessageState::Read;
    QTest::newRow("read then a late sent")
        << MessageState::Read << MessageState::Sent << MessageState::Read;
    QTest::newRow("read then delivered")
        << MessageState::Read << MessageState::Delivered << MessageState::Read;
    QTest::newRow("delivered then sent")
        << MessageState::Delivered << MessageState::Sent << MessageState::Delivered;
}

void CacheTest::outgoingStateOnlyMovesForward()
{
    QFETCH(MessageState, stored);
    QFETCH(MessageState, saved);
    QFETCH(MessageState, expected);
    Cache cache;
    QCOMPARE(openCache(cache, QString()), QString());
    cache.saveMessages({acked(1, stored)});
    cache.saveMessages({acked(1, saved)});
    const std::optional<QList<ChatMessage>> loaded = loadRange(cache, 1, 1);
    QVERIFY(loaded);
    QCOMPARE(loaded->size(), 1);
    QCOMPARE(messageStateName(loaded->first().state), messageStateName(expected));
}

void CacheTest::outgoingTimestampsAreOnlyFilled()
{
    Cache cache;
    QCOMPARE(openCache(cache, QString()), QString());
    cache.saveMessages({acked(1)});
    ChatMessage later = acked(1, MessageState::Delivered);
    later.sentAt = 7777; // already known: kept
    later.deliveredAt = 8888; // was 0: filled
    later.body = u"edited"_s; // the row is not rewritten
    cache.saveMessages({later});

    ChatMessage expected = acked(1, MessageState::Delivered);
    expected.deliveredAt = 8888;
    QCOMPARE(loadRange(cache, 1, 1), QList<ChatMessage>({expected}));
}

void CacheTest::incomingMessageKeepsItsRow()
{
    Cache cache;
    QCOMPARE(openCache(cache, QString()), QString());
    cache.saveMessages({incoming(1)});
    cache.markRead(kConv, 1, 500);
    cache.saveMessages({incoming(1, u"replayed with another body"_s)}); // history replay

    ChatMessage expected = incoming(1);
    expected.state = MessageState::Read;
    expected.readAt = 500;
    QCOMPARE(loadRange(cache, 1, 1), QList<ChatMessage>({expected}));
}

void CacheTest::ackRemovesOutboxRow()
{
    Cache cache;
    QCOMPARE(openCache(cache, QString()), QString());
    const ChatMessage pending = queued(u"q1"_s);
    cache.saveOutgoing(pending);
    cache.saveOutgoing(queued(u"q2"_s));
    QCOMPARE(loadOutbox(cache), QList<ChatMessage>({pending, queued(u"q2"_s)}));

    ChatMessage ack = acked(7);
    ack.cid = pending.cid;
    cache.saveMessages({ack});
    QCOMPARE(loadOutbox(cache), QList<ChatMessage>({queued(u"q2"_s)}));
    // Shown once: as the stored message, not also as a pending one.
    QCOMPARE(loadMessages(cache, kConv), QList<ChatMessage>({ack, queued(u"q2"_s)}));
}

void CacheTest::outboxKeepsQueueOrder()
{
    Cache cache;
    QCOMPARE(openCache(cache, QString()), QString());
    for (const QString &cid : {u"a"_s, u"b"_s, u"c"_s})
        cache.saveOutgoing(queued(cid));
    ChatMessage sending = queued(u"b"_s);
    sending.state = MessageState::Sending;
    sending.attempts = 1;
    sending.sendingAt = 5100;
    cache.saveOutgoing(sending); // replaced in place
    cache.removeOutgoing(u"a"_s);
    cache.saveOutgoing(queued(u"d"_s));

    const std::optional<QList<ChatMessage>> outbox = loadOutbox(cache);
    QVERIFY(outbox);
    QCOMPARE(cids(*outbox), QStringList({u"b"_s, u"c"_s, u"d"_s}));
    QCOMPARE(outbox->first(), sending);
}

void CacheTest::peerReceiptsMoveForward()
{
    Cache cache;
    QCOMPARE(openCache(cache, QString()), QString());
    cache.saveMessages({acked(1), acked(2), acked(3), acked(4), acked(5), incoming(6)});

    cache.applyPeerReceipt(kConv, ReceiptKind::Delivered, 3, 100);
    cache.applyPeerReceipt(kConv, ReceiptKind::Read, 2, 200);
    std::optional<QList<ChatMessage>> loaded = loadRange(cache, 1, 6);
    QVERIFY(loaded);
    QList<ChatMessage> expected = {acked(1, MessageState::Read), acked(2, MessageState::Read),
        acked(3, MessageState::Delivered), acked(4), acked(5), incoming(6)};
    for (int i : {0, 1, 2})
        expected[i].deliveredAt = 100;
    for (int i : {0, 1})
        expected[i].readAt = 200;
    QCOMPARE(*loaded, expected);

    // Never backwards: an old delivered receipt changes nothing; a read receipt also
    // delivers what was not delivered yet, and keeps the delivery times already known.
    cache.applyPeerReceipt(kConv, ReceiptKind::Delivered, 2, 300);
    cache.applyPeerReceipt(kConv, ReceiptKind::Read, 5, 400);
    cache.applyPeerReceipt(kConv, ReceiptKind::Read, 1, 500);
    loaded = loadRange(cache, 1, 6);
    QVERIFY(loaded);
    expected[2].state = MessageState::Read;
    expected[2].readAt = 400;
    for (int i : {3, 4}) {
        expected[i].state = MessageState::Read;
        expected[i].deliveredAt = 400;
        expected[i].readAt = 400;
    }
    QCOMPARE(*loaded, expected);

    const std::optional<QList<ConversationInfo>> conversations = loadConversations(cache);
    QVERIFY(conversations);
    QCOMPARE(conversations->size(), 1);
    QCOMPARE(conversations->first().peerDelivered, 5);
    QCOMPARE(conversations->first().peerRead, 5);
}

void CacheTest::markReadCountsUnread()
{
    Cache cache;
    QCOMPARE(openCache(cache, QString()), QString());
    cache.saveMessages({incoming(1), incoming(2), incoming(3), incoming(4), incoming(5), acked(6),
        incoming(7), gap(8)});
    auto unreadAndMark = [&cache]() -> std::pair<int, qint64> {
        const std::optional<QList<ConversationInfo>> conversations = loadConversations(cache);
        if (!conversations || conversations->size() != 1)
            return {-1, -1};
        return {conversations->first().unread, conversations->first().readUpTo};
    };
    QCOMPARE(unreadAndMark(), std::make_pair(6, qint64(0)));

    cache.markRead(kConv, 3, 100);
    QCOMPARE(unreadAndMark(), std::make_pair(3, qint64(3)));
    cache.markRead(kConv, 2, 200); // behind: nothing moves
    QCOMPARE(unreadAndMark(), std::make_pair(3, qint64(3)));
    std::optional<QList<ChatMessage>> loaded = loadRange(cache, 1, 4);
    QVERIFY(loaded);
    for (const ChatMessage &m : std::as_const(*loaded)) {
        QCOMPARE(m.state, m.seq <= 3 ? MessageState::Read : MessageState::Received);
        QCOMPARE(m.readAt, m.seq <= 3 ? 100 : 0);
    }

    cache.markRead(kConv, 8, 300);
    QCOMPARE(unreadAndMark(), std::make_pair(0, qint64(8)));
    loaded = loadRange(cache, 6, 7);
    QVERIFY(loaded);
    QCOMPARE(seqs(*loaded), QList<qint64>({6, 7}));
    QCOMPARE(loaded->at(0).state, MessageState::Sent); // ours: only the peer reads it
    QCOMPARE(loaded->at(1).state, MessageState::Read);
}

void CacheTest::updateConversationKeepsUnknownFields()
{
    Cache cache;
    QCOMPARE(openCache(cache, QString()), QString());
    cache.updateConversation({kConv, u"bob"_s, 10, 2000, 5, 2, 3, 4, 1});
    cache.updateConversation({.conv = kConv, .lastSeq = 12}); // peer empty, rest -1
    cache.updateConversation({.conv = u"alice:zed"_s, .readUpTo = 7}); // a new row

    ConversationInfo bob {.conv = kConv,
        .peer = u"bob"_s,
        .lastSeq = 12,
        .lastTs = 2000,
        .contiguousSeq = 5,
        .floorSeq = 2,
        .readUpTo = 3,
        .peerDelivered = 4,
        .peerRead = 1};
    ConversationInfo zed {.conv = u"alice:zed"_s, .readUpTo = 7};
    QCOMPARE(loadConversations(cache), QList<ConversationInfo>({bob, zed}));
}

void CacheTest::loadMessagesPagesBackwards()
{
    Cache cache;
    QCOMPARE(openCache(cache, QString()), QString());
    QList<ChatMessage> history;
    for (qint64 seq = 1; seq <= 10; ++seq)
        history.append(seq == 5 ? gap(5) : seq % 3 == 0 ? acked(seq) : incoming(seq));
    cache.saveMessages(history);
    cache.saveOutgoing(queued(u"x"_s));
    cache.saveOutgoing(queued(u"other"_s, u"alice:carol"_s));
    cache.saveOutgoing(queued(u"y"_s));

    const std::optional<QList<ChatMessage>> newest = loadMessages(cache, kConv, 0, 3);
    QVERIFY(newest);
    QCOMPARE(seqs(*newest), QList<qint64>({8, 9, 10, 0, 0}));
    QCOMPARE(cids(newest->mid(3)), QStringList({u"x"_s, u"y"_s})); // queue order, this conv
    QCOMPARE(newest->first(), history[7]);
    QCOMPARE(seqs(*loadMessages(cache, kConv, 8, 3)), QList<qint64>({4, 6, 7})); // no gap
    QCOMPARE(seqs(*loadMessages(cache, kConv, 4, 10)), QList<qint64>({1, 2, 3}));
    QCOMPARE(seqs(*loadMessages(cache, kConv, 1, 10)), QList<qint64>());
    QCOMPARE(cids(*loadMessages(cache, u"alice:carol"_s)), QStringList({u"other"_s}));
}

void CacheTest::loadRangeExcludesGaps()
{
    Cache cache;
    QCOMPARE(openCache(cache, QString()), QString());
    cache.saveMessages({incoming(3), gap(4), gap(5), acked(6), incoming(7)});
    QCOMPARE(loadRange(cache, 3, 6), QList<ChatMessage>({incoming(3), acked(6)}));
    QCOMPARE(loadRange(cache, 4, 5), QList<ChatMessage>());
}

void CacheTest::conversationsOrderedWithPreviews()
{
    Cache cache;
    QCOMPARE(openCache(cache, QString()), QString());
    cache.saveMessages({incoming(1), incoming(2)}); // alice:bob, last_ts 1002
    ChatMessage toCarol = acked(1);
    toCarol.conv = u"alice:carol"_s;
    toCarol.to = u"carol"_s;
    toCarol.ts = 5000;
    cache.saveMessages({toCarol});
    ChatMessage fromDave = incoming(2, u"dave's last words"_s);
    fromDave.conv = u"alice:dave"_s;
    fromDave.from = u"dave"_s;
    fromDave.ts = 1002; // same last_ts as alice:bob: then by conv
    cache.saveMessages({fromDave, gap(3, fromDave.conv)});

    const QList<ConversationInfo> expected = {
        {.conv = u"alice:carol"_s,
            .peer = u"carol"_s,
            .lastSeq = 1,
            .lastTs = 5000,
            .lastBody = toCarol.body,
            .lastFrom = u"alice"_s},
        {.conv = kConv,
            .peer = u"bob"_s,
            .lastSeq = 2,
            .lastTs = 1002,
            .lastBody = incoming(2).body,
            .lastFrom = u"bob"_s,
            .unread = 2},
        {.conv = u"alice:dave"_s,
            .peer = u"dave"_s,
            .lastSeq = 3,
            .lastTs = 1002,
            .lastBody = fromDave.body,
            .lastFrom = u"dave"_s,
            .unread = 1},
    };
    QCOMPARE(loadConversations(cache), expected);
}

void CacheTest::readSeesEarlierWrites()
{
    Cache cache;
    cache.open(QString(), nullptr, {}); // reads queue behind the open, like writes
    for (qint64 seq = 1; seq <= 300; ++seq)
        cache.saveMessages({incoming(seq)});
    const std::optional<QList<ChatMessage>> loaded = loadMessages(cache, kConv, 0, 1000);
    QVERIFY(loaded);
    QCOMPARE(loaded->size(), 300);
    QCOMPARE(loaded->last(), incoming(300));
}

void CacheTest::flushWaitsForCommit()
{
    Cache cache;
    QCOMPARE(openCache(cache, path(u"alice.sqlite3"_s)), QString());
    for (qint64 seq = 1; seq <= 50; ++seq)
        cache.saveMessages({incoming(seq)});
    cache.saveOutgoing(queued(u"q1"_s));
    cache.markRead(kConv, 10, 100);
    QCOMPARE(committedAfterFlush(cache), 52); // counted when the callback ran
}

void CacheTest::callbacksSkipDestroyedContext_data()
{
    QTest::addColumn<bool>("answerQueued");
    QTest::newRow("destroyed before the answer") << false;
    QTest::newRow("destroyed with the answer queued") << true;
}

void CacheTest::callbacksSkipDestroyedContext()
{
    QFETCH(bool, answerQueued);
    Cache cache;
    QCOMPARE(openCache(cache, QString()), QString());
    cache.saveMessages({incoming(1)});

    bool ran = false;
    auto *context = new QObject;
    cache.loadMessages(kConv, 0, 50, context, [&ran](const QList<ChatMessage> &) { ran = true; });
    if (answerQueued) {
        // Without running this thread's event loop, wait until the cache thread has
        // answered a later request (delivered on another thread): ours is then posted.
        QThread helper;
        helper.start();
        QObject helperContext;
        helperContext.moveToThread(&helper);
        std::atomic<QThread *> answeredOn = nullptr;
        cache.flush(&helperContext, [&answeredOn] { answeredOn = QThread::currentThread(); });
        QDeadlineTimer deadline(kWaitMs);
        while (!answeredOn && !deadline.hasExpired())
            QThread::msleep(1);
        helper.quit();
        helper.wait();
        QCOMPARE(answeredOn.load(), &helper); // callbacks run on their context's thread
    }
    delete context;

    // A later request's answer comes after where ours would have been.
    QCOMPARE(committedAfterFlush(cache), 1);
    QVERIFY(!ran);
}

QTEST_GUILESS_MAIN(CacheTest)
#include "tst_cache.moc"
