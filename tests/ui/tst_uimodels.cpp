// The desktop client's models and widgets without a server: message ordering and day
// groups, receipts, the conversation list's order, the composer's keys and counter, the
// sign-in dialog's address rules and the bubble size cache. Every model runs under
// QAbstractItemModelTester.
#include "composer.h"
#include "conversationlistmodel.h"
#include "messagedelegate.h"
#include "messagemodel.h"
#include "signindialog.h"

#include <QAbstractItemModelTester>
#include <QDateTime>
#include <QLabel>
#include <QListView>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QtTest>

using namespace Qt::StringLiterals;
using namespace parley::client;
using namespace parley::ui;

namespace {

const QString Conv = u"alice:bob"_s;
const qint64 Day = 24 * 3600 * 1000;

ChatMessage stored(qint64 seq, bool outgoing, qint64 ts = 0)
{
    ChatMessage m;
    m.conv = Conv;
    m.seq = seq;
    m.cid = u"c"_s + QString::number(seq);
    m.from = outgoing ? u"alice"_s : u"bob"_s;
    m.to = outgoing ? u"bob"_s : u"alice"_s;
    m.body = u"message "_s + QString::number(seq);
    m.ts = ts ? ts : QDateTime::currentMSecsSinceEpoch();
    m.outgoing = outgoing;
    m.state = outgoing ? MessageState::Sent : MessageState::Received;
    return m;
}

ChatMessage pending(const QString &cid)
{
    ChatMessage m;
    m.conv = Conv;
    m.cid = cid;
    m.from = u"alice"_s;
    m.to = u"bob"_s;
    m.body = u"pending "_s + cid;
    m.ts = QDateTime::currentMSecsSinceEpoch();
    m.outgoing = true;
    m.state = MessageState::Queued;
    return m;
}

// The model's rows as "seq" for stored messages and the cid for pending ones.
QStringList rows(const MessageModel &model)
{
    QStringList out;
    for (int row = 0; row < model.rowCount(); ++row) {
        const ChatMessage m = model.message(row);
        out.append(m.seq > 0 ? QString::number(m.seq) : m.cid);
    }
    return out;
}

} // namespace

class TestUiModels : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void messagesInOrder_data();
    void messagesInOrder();
    void ackMovesPendingIntoPlace();
    void dayHeaders();
    void receiptsMoveStatesForward();
    void removeAndUpdate();
    void conversationListOrder();
    void composerKeys();
    void composerCounter();
    void parseServer_data();
    void parseServer();
    void bubbleSizesAreCached();
};

// Each step: "p<seq>" a page with that seq (ascending, comma-separated: p3,4,5), "a<seq>"
// a messageAdded of a stored message, "q<cid>" a queued message of ours.
void TestUiModels::messagesInOrder_data()
{
    QTest::addColumn<QStringList>("steps");
    QTest::addColumn<QStringList>("expected");
    QTest::newRow("page then live") << QStringList {u"p1,2,3"_s, u"a4"_s, u"a5"_s}
                                    << QStringList {u"1"_s, u"2"_s, u"3"_s, u"4"_s, u"5"_s};
    QTest::newRow("live before page")
        << QStringList {u"a4"_s, u"p1,2,3"_s} << QStringList {u"1"_s, u"2"_s, u"3"_s, u"4"_s};
    QTest::newRow("older page in front") << QStringList {u"p5,6"_s, u"p3,4"_s,
        u"p1,2"_s} << QStringList {u"1"_s, u"2"_s, u"3"_s, u"4"_s, u"5"_s, u"6"_s};
    QTest::newRow("overlapping pages") << QStringList {u"p3,4,5"_s, u"p1,2,3,4"_s}
                                       << QStringList {u"1"_s, u"2"_s, u"3"_s, u"4"_s, u"5"_s};
    QTest::newRow("duplicates dropped") << QStringList {u"p1,2"_s, u"a2"_s, u"a1"_s, u"a3"_s}
                                        << QStringList {u"1"_s, u"2"_s, u"3"_s};
    QTest::newRow("pending stay last") << QStringList {u"p1"_s, u"qx"_s, u"qy"_s, u"a2"_s}
                                       << QStringList {u"1"_s, u"2"_s, u"x"_s, u"y"_s};
}

void TestUiModels::messagesInOrder()
{
    QFETCH(QStringList, steps);
    QFETCH(QStringList, expected);
    MessageModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.reset(Conv);
    for (const QString &step : std::as_const(steps)) {
        const QString arg = step.mid(1);
        if (step.startsWith(u'p')) {
            QList<ChatMessage> page;
            for (const QString &seq : arg.split(u','))
                page.append(stored(seq.toLongLong(), seq.toLongLong() % 2 == 0));
            model.addPage(page);
        } else if (step.startsWith(u'a')) {
            model.add(stored(arg.toLongLong(), false));
        } else {
            model.add(pending(arg));
        }
    }
    QCOMPARE(rows(model), expected);
}

void TestUiModels::ackMovesPendingIntoPlace()
{
    MessageModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.reset(Conv);
    model.addPage({stored(1, false)});
    model.add(pending(u"x"_s));
    model.add(pending(u"y"_s));
    model.add(stored(3, false)); // arrived while ours waited for its ack
    QCOMPARE(rows(model), (QStringList {u"1"_s, u"3"_s, u"x"_s, u"y"_s}));
    ChatMessage acked = pending(u"x"_s);
    acked.seq = 2;
    acked.state = MessageState::Sent;
    model.update(acked);
    QCOMPARE(rows(model), (QStringList {u"1"_s, u"2"_s, u"3"_s, u"y"_s}));
    QCOMPARE(model.message(1).cid, u"x"_s);
    QCOMPARE(model.message(1).state, MessageState::Sent);
}

void TestUiModels::dayHeaders()
{
    MessageModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.reset(Conv);
    const qint64 today = QDateTime(QDate::currentDate(), QTime(12, 0)).toMSecsSinceEpoch();
    model.addPage({stored(3, false, today - Day), stored(4, true, today), stored(5, false, today)});
    auto showDay
        = [&model](int row) { return model.index(row).data(MessageModel::ShowDayRole).toBool(); };
    QVERIFY(showDay(0));
    QVERIFY(showDay(1)); // a new day
    QVERIFY(!showDay(2));
    // An older page of the same day as the first row: that row no longer starts its day.
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.addPage({stored(1, true, today - 2 * Day), stored(2, false, today - Day)});
    QVERIFY(showDay(0));
    QVERIFY(showDay(1));
    QVERIFY(!showDay(2));
    QCOMPARE(changed.size(), 1);
    QCOMPARE(changed.first().at(0).toModelIndex().row(), 2);
}

void TestUiModels::receiptsMoveStatesForward()
{
    MessageModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.reset(Conv, 0, 0);
    model.addPage({stored(2, true), stored(3, false), stored(4, true), stored(6, true)});
    model.add(pending(u"q"_s));
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.setPeerReceipts(4, 2);
    QCOMPARE(changed.size(), 1);
    QCOMPARE(model.message(0).state, MessageState::Read);
    QCOMPARE(model.message(1).state, MessageState::Received); // theirs: untouched
    QCOMPARE(model.message(2).state, MessageState::Delivered);
    QCOMPARE(model.message(3).state, MessageState::Sent);
    QCOMPARE(model.message(4).state, MessageState::Queued);
    model.setPeerReceipts(3, 1); // never backwards
    QCOMPARE(model.message(0).state, MessageState::Read);
    QCOMPARE(model.message(2).state, MessageState::Delivered);
    QCOMPARE(changed.size(), 1);
}

void TestUiModels::removeAndUpdate()
{
    MessageModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.reset(Conv);
    model.addPage({stored(1, false)});
    ChatMessage failed = pending(u"f"_s);
    model.add(failed);
    failed.state = MessageState::Failed;
    failed.failure = u"no such user"_s;
    model.update(failed);
    QCOMPARE(model.message(1).state, MessageState::Failed);
    QCOMPARE(model.index(1).data(MessageModel::FailureRole).toString(), u"no such user"_s);
    model.remove(u"f"_s);
    QCOMPARE(rows(model), QStringList {u"1"_s});
    ChatMessage other = stored(9, false);
    other.conv = u"alice:carol"_s;
    model.add(other); // another conversation: ignored
    QCOMPARE(model.rowCount(), 1);
}

void TestUiModels::conversationListOrder()
{
    ConversationListModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setUser(u"alice"_s);
    auto info = [](const QString &peer, qint64 ts, int unread) {
        ConversationInfo i;
        i.conv = u"alice:"_s + peer;
        i.peer = peer;
        i.lastTs = ts;
        i.lastBody = u"hi from "_s + peer;
        i.lastFrom = peer;
        i.unread = unread;
        return i;
    };
    model.setConversations(
        {info(u"bob"_s, 100, 1), info(u"carol"_s, 300, 0), info(u"dave"_s, 200, 2)});
    auto peers = [&model] { return model.peers(); };
    QCOMPARE(peers(), (QStringList {u"carol"_s, u"dave"_s, u"bob"_s}));
    QCOMPARE(model.totalUnread(), 3);
    model.upsert(info(u"bob"_s, 400, 2)); // a new message moves it to the top
    QCOMPARE(peers(), (QStringList {u"bob"_s, u"carol"_s, u"dave"_s}));
    model.upsert(info(u"carol"_s, 50, 0)); // an older time never moves the preview back
    QCOMPARE(peers(), (QStringList {u"bob"_s, u"carol"_s, u"dave"_s}));
    model.upsert(info(u"erin"_s, 250, 0));
    QCOMPARE(peers(), (QStringList {u"bob"_s, u"carol"_s, u"erin"_s, u"dave"_s}));
    ChatMessage mine = pending(u"z"_s);
    mine.conv = u"alice:dave"_s;
    mine.ts = 500;
    model.notePending(mine);
    QCOMPARE(peers().first(), u"dave"_s);
    QCOMPARE(
        model.index(0).data(ConversationListModel::PreviewRole).toString(), u"You: pending z"_s);
    PeerPresence online;
    online.online = true;
    online.typing = true;
    model.setPresence(u"dave"_s, online);
    QVERIFY(!model.index(0).data(ConversationListModel::OnlineRole).toBool()); // not connected
    model.setConnected(true);
    QVERIFY(model.index(0).data(ConversationListModel::OnlineRole).toBool());
    QVERIFY(model.index(0).data(ConversationListModel::TypingRole).toBool());
    model.setConnected(false); // what was known is stale now
    QVERIFY(!model.index(0).data(ConversationListModel::TypingRole).toBool());
    QCOMPARE(model.ensure(u"alice:zed"_s, u"zed"_s), 0); // a started conversation goes on top
    QCOMPARE(model.rowCount(), 5);
}

void TestUiModels::composerKeys()
{
    Composer composer;
    composer.show();
    QSignalSpy submitted(&composer, &Composer::submitted);
    QTest::keyClicks(composer.editor(), u"first line"_s);
    QTest::keyClick(composer.editor(), Qt::Key_Return, Qt::ShiftModifier);
    QTest::keyClicks(composer.editor(), u"second"_s);
    QCOMPARE(composer.text(), u"first line\nsecond"_s);
    QCOMPARE(submitted.size(), 0);
    QTest::keyClick(composer.editor(), Qt::Key_Return);
    QCOMPARE(submitted.size(), 1);
    QCOMPARE(submitted.first().first().toString(), u"first line\nsecond"_s);
    composer.clear();
    QTest::keyClicks(composer.editor(), u"   "_s);
    QTest::keyClick(composer.editor(), Qt::Key_Enter);
    QCOMPARE(submitted.size(), 1); // blank: nothing to send
}

void TestUiModels::composerCounter()
{
    Composer composer;
    composer.editor()->setPlainText(QString(100, u'a'));
    QVERIFY(composer.counter()->isHidden());
    QVERIFY(composer.sendButton()->isEnabled());
    composer.editor()->setPlainText(QString(3990, u'a'));
    QVERIFY(!composer.counter()->isHidden());
    QCOMPARE(composer.counter()->text(), u"10 left"_s);
    composer.editor()->setPlainText(QString(4003, u'a'));
    QCOMPARE(composer.counter()->text(), u"3 too many"_s);
    QVERIFY(!composer.sendButton()->isEnabled());
    // Code points, not UTF-16 units: 4000 emoji fit.
    QString emoji;
    for (int i = 0; i < 4000; ++i)
        emoji += u"😀"_s;
    composer.editor()->setPlainText(emoji);
    QCOMPARE(composer.counter()->text(), u"0 left"_s);
    QVERIFY(composer.sendButton()->isEnabled());
}

void TestUiModels::parseServer_data()
{
    QTest::addColumn<QString>("input");
    QTest::addColumn<QString>("expected"); // empty: refused
    QTest::newRow("loopback host:port") << u"127.0.0.1:8443"_s << u"ws://127.0.0.1:8443/ws"_s;
    QTest::newRow("localhost") << u"localhost:9000"_s << u"ws://localhost:9000/ws"_s;
    QTest::newRow("remote name") << u"chat.example.org"_s << u"wss://chat.example.org/ws"_s;
    QTest::newRow("remote with port")
        << u"chat.example.org:8443"_s << u"wss://chat.example.org:8443/ws"_s;
    QTest::newRow("full wss url") << u"wss://chat.example.org/chat"_s
                                  << u"wss://chat.example.org/chat"_s;
    QTest::newRow("https becomes wss")
        << u"https://chat.example.org"_s << u"wss://chat.example.org/ws"_s;
    QTest::newRow("plain ws off loopback") << u"ws://chat.example.org"_s << QString();
    QTest::newRow("empty") << u"  "_s << QString();
    QTest::newRow("ftp") << u"ftp://chat.example.org"_s << QString();
    QTest::newRow("garbage") << u"not a server"_s << QString();
}

void TestUiModels::parseServer()
{
    QFETCH(QString, input);
    QFETCH(QString, expected);
    QString problem;
    const auto url = SignInDialog::parseServer(input, &problem);
    if (expected.isEmpty()) {
        QVERIFY(!url);
        QVERIFY(!problem.isEmpty());
    } else {
        QVERIFY2(url, qPrintable(problem));
        QCOMPARE(url->toString(), expected);
    }
}

// Bubbles of different heights are measured once per message and width, so a long
// conversation lays out without measuring its text again.
void TestUiModels::bubbleSizesAreCached()
{
    MessageModel model;
    model.reset(Conv);
    QList<ChatMessage> page;
    for (int seq = 1; seq <= 2000; ++seq) {
        ChatMessage m = stored(seq, seq % 3 == 0);
        m.body = QString(seq % 7 * 40 + 1, u'w').replace(u"ww"_s, u"w "_s);
        page.append(m);
    }
    model.addPage(page);
    QListView view;
    auto *delegate = new MessageDelegate(&view);
    view.setItemDelegate(delegate);
    view.setModel(&model);
    view.resize(500, 400);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.scrollToBottom();
    QTRY_COMPARE(delegate->cachedSizeCount(), 2000);
    // Long bubbles are taller than short ones.
    QVERIFY(view.visualRect(model.index(5)).height() > view.visualRect(model.index(6)).height());
    view.scrollToTop();
    QCoreApplication::processEvents();
    QCOMPARE(delegate->cachedSizeCount(), 2000);
}

QTEST_MAIN(TestUiModels)
#include "tst_uimodels.moc"
