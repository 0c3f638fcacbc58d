// The desktop client's models and widgets without a server: message ordering and day
// groups, receipts, the conversation list's order, the composer's keys and counter, the
// sign-in dialog's address rules, the bubble size cache, and search: a window of history
// in the message model, the hit list (its rows, extension by server pages, emphasised
// words) and its status line. Every model runs under QAbstractItemModelTester.
#include "appicon.h"
#include "composer.h"
#include "conversationlistmodel.h"
#include "messagedelegate.h"
#include "messagemodel.h"
#include "searchpanel.h"
#include "searchresultmodel.h"
#include "searchtext.h"
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
    void appIconHasEverySize()
    {
        // The PNGs rendered from resources/icons/parley.svg are built in.
        const QIcon icon = parley::ui::appIcon();
        QVERIFY(!icon.isNull());
        for (const int size : {16, 32, 48, 256}) {
            const QPixmap pixmap = icon.pixmap(size, size);
            QCOMPARE(pixmap.size(), QSize(size, size));
            // The bubble's blue at its centre-left, the transparent corner.
            const QImage image = pixmap.toImage();
            QCOMPARE(image.pixelColor(size / 8, size / 2).blue() > 150, true);
            QCOMPARE(image.pixelColor(0, size - 1).alpha(), 0);
        }
    }

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
    void signInFieldsKeepTheirHeight_data();
    void signInFieldsKeepTheirHeight();
    void bubbleSizesAreCached();
    void historyWindowAndHighlight();
    void hitText_data();
    void hitText();
    void searchResults();
    void searchStatus_data();
    void searchStatus();
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

void TestUiModels::signInFieldsKeepTheirHeight_data()
{
    QTest::addColumn<QString>("keychainProblem");
    QTest::addColumn<QString>("error");
    QTest::newRow("plain") << QString() << QString();
    QTest::newRow("no keyring") << u"no keyring service is running (org.freedesktop.secrets)"_s
                                << QString();
    QTest::newRow("no keyring, an error, long strings")
        << QString(u"the keyring service did not answer in time, "_s.repeated(6))
        << QString(
               u"the server at chat.example.org answered with something unexpected. "_s.repeated(
                   4));
}

// The sign-in dialog is shown first and learns of the keychain afterwards (AccountSession
// asks the credential store once the dialog is up): the note it then shows, and an error,
// must make the dialog taller, never squash the fields (issue 21: they were cut to a few
// pixels on a Linux desktop without a keyring).
void TestUiModels::signInFieldsKeepTheirHeight()
{
    QFETCH(QString, keychainProblem);
    QFETCH(QString, error);
    SignInDialog dialog;
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    dialog.setKeychainProblem(keychainProblem);
    if (!error.isEmpty())
        dialog.showError(error);
    QCoreApplication::processEvents();
    for (QWidget *child : dialog.findChildren<QWidget *>()) {
        if (!child->isVisible() || child->isWindow())
            continue;
        const int needed = child->hasHeightForWidth() ? child->heightForWidth(child->width())
                                                      : child->minimumSizeHint().height();
        QVERIFY2(child->height() >= needed,
            qPrintable(u"%1 '%2' is %3 px high, needs %4"_s
                           .arg(QString::fromLatin1(child->metaObject()->className()),
                               child->accessibleName())
                           .arg(child->height())
                           .arg(needed)));
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

void TestUiModels::historyWindowAndHighlight()
{
    MessageModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.reset(Conv);
    // A window around seq 110 (a search hit), then the page before it, then after it.
    QList<ChatMessage> window;
    for (qint64 seq = 100; seq <= 120; ++seq)
        window.append(stored(seq, seq % 2 == 0));
    model.addPage(window);
    QList<ChatMessage> older;
    for (qint64 seq = 80; seq < 100; ++seq)
        older.append(stored(seq, false));
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    model.addPage(older);
    QCOMPARE(inserted.size(), 1); // one insert in front
    QCOMPARE(inserted.first().at(1).toInt(), 0);
    model.addPage({stored(121, false), stored(122, true)});
    QCOMPARE(model.rowCount(), 43);
    QCOMPARE(model.oldestSeq(), 80);
    QCOMPARE(model.newestSeq(), 122);
    QCOMPARE(model.rowOfSeq(110), 30);
    QCOMPARE(model.rowOfSeq(79), -1);
    QCOMPARE(model.rowOfSeq(0), -1);

    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.setHighlightedSeq(110);
    QCOMPARE(model.highlightedSeq(), 110);
    QVERIFY(model.index(30).data(MessageModel::HighlightRole).toBool());
    QVERIFY(!model.index(31).data(MessageModel::HighlightRole).toBool());
    QCOMPARE(changed.size(), 1);
    model.setHighlightedSeq(0);
    QVERIFY(!model.index(30).data(MessageModel::HighlightRole).toBool());
    QCOMPARE(changed.size(), 2);
    model.reset(Conv);
    QCOMPARE(model.highlightedSeq(), 0);
}

void TestUiModels::hitText_data()
{
    QTest::addColumn<QString>("body");
    QTest::addColumn<QString>("query");
    QTest::addColumn<QString>("text"); // what the row shows
    QTest::addColumn<QStringList>("emphasised");

    QTest::newRow("all words, prefixes")
        << u"Lunch on Friday? The new place."_s << u"lun fri"_s
        << u"Lunch on Friday? The new place."_s << QStringList {u"Lunch"_s, u"Friday"_s};
    QTest::newRow("case and accents")
        << u"Déjà vu at the CAFÉ"_s << u"deja cafe"_s << u"Déjà vu at the CAFÉ"_s
        << QStringList {u"Déjà"_s, u"CAFÉ"_s};
    QTest::newRow("every occurrence")
        << u"lunch, more lunch"_s << u"lunch"_s << u"lunch, more lunch"_s
        << QStringList {u"lunch"_s, u"lunch"_s};
    // Brackets typed by the sender stay as typed and are not taken for match marks.
    QTest::newRow("brackets in the body") << u"see [lunch] and [x]"_s << u"lunch"_s
                                          << u"see [lunch] and [x]"_s << QStringList {u"lunch"_s};
    QTest::newRow("line breaks") << u"first\nsecond\tlunch"_s << u"lunch"_s
                                 << u"first second lunch"_s << QStringList {u"lunch"_s};
    QTest::newRow("only word starts")
        << u"brunch and lunchbox"_s << u"unch"_s << u"brunch and lunchbox"_s << QStringList {};
    const QString far = u"one two three four five six seven eight nine ten eleven "_s
        + u"twelve thirteen fourteen fifteen walrus at the end"_s;
    QTest::newRow("far match in view")
        << far << u"walrus"_s << u"…fourteen fifteen walrus at the end"_s
        << QStringList {u"walrus"_s};
}

void TestUiModels::hitText()
{
    QFETCH(QString, body);
    QFETCH(QString, query);
    QFETCH(QString, text);
    QFETCH(QStringList, emphasised);
    const HitText shown = parley::ui::hitText(body, parley::protocol::search::queryWords(query));
    QCOMPARE(shown.text, text);
    QStringList words;
    for (const MatchSpan &m : shown.matches)
        words.append(shown.text.mid(m.start, m.length));
    QCOMPARE(words, emphasised);
}

void TestUiModels::searchResults()
{
    SearchResultModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setUser(u"alice"_s);
    auto hit = [](const QString &conv, qint64 seq, const QString &from, const QString &body) {
        SearchHit h;
        h.conv = conv;
        h.peer = conv == Conv ? u"bob"_s : u"carol"_s;
        h.seq = seq;
        h.from = from;
        h.ts = QDateTime::currentMSecsSinceEpoch() - seq * Day;
        h.body = body;
        h.snippet = body;
        return h;
    };
    const QList<SearchHit> cached {hit(Conv, 9, u"bob"_s, u"Lunch on Friday?"_s),
        hit(u"alice:carol"_s, 4, u"alice"_s, u"lunch with bob"_s)};
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    model.setHits(cached, u"lun"_s);
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(reset.size(), 1);
    const QModelIndex first = model.index(0);
    QCOMPARE(first.data(SearchResultModel::PeerRole).toString(), u"bob"_s);
    QCOMPARE(first.data(SearchResultModel::SenderRole).toString(), u"bob"_s);
    QCOMPARE(first.data(SearchResultModel::SeqRole).toLongLong(), 9);
    QCOMPARE(first.data(Qt::DisplayRole).toString(), u"Lunch on Friday?"_s);
    QCOMPARE(first.data(SearchResultModel::MatchesRole).value<QList<MatchSpan>>(),
        (QList<MatchSpan> {{0, 5}}));
    QVERIFY(first.data(Qt::AccessibleTextRole).toString().contains(u"Lunch on Friday?"_s));
    QCOMPARE(model.index(1).data(SearchResultModel::SenderRole).toString(), u"You"_s);
    QCOMPARE(model.hit(1).conv, u"alice:carol"_s);

    // A server page: the rows are added, what is shown stays (and the user's selection).
    SearchHit fromServer = hit(Conv, 2, u"bob"_s, u"lunar lunch"_s);
    fromServer.cached = false;
    model.setHits(cached + QList<SearchHit> {fromServer}, u"lun"_s);
    QCOMPARE(reset.size(), 1);
    QCOMPARE(inserted.size(), 1);
    QCOMPARE(model.rowCount(), 3);
    QVERIFY(!model.index(2).data(SearchResultModel::CachedRole).toBool());
    QCOMPARE(
        model.index(2).data(SearchResultModel::MatchesRole).value<QList<MatchSpan>>().size(), 2);

    // Another query replaces everything.
    model.setHits({cached.first()}, u"friday"_s);
    QCOMPARE(reset.size(), 2);
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.index(0).data(SearchResultModel::MatchesRole).value<QList<MatchSpan>>(),
        (QList<MatchSpan> {{9, 6}}));
    QVERIFY(!model.canFetchMore({})); // no search behind it
    model.setHits({}, {});
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(model.hit(0).seq, 0);
}

void TestUiModels::searchStatus_data()
{
    using State = Search::ServerState;
    QTest::addColumn<bool>("hasQuery");
    QTest::addColumn<State>("state");
    QTest::addColumn<int>("hits");
    QTest::addColumn<bool>("more");
    QTest::addColumn<QString>("error");
    QTest::addColumn<QString>("text");
    QTest::newRow("nothing typed") << false << State::Idle << 0 << false << QString()
                                   << u"Type a few letters to search your messages."_s;
    QTest::newRow("typing") << true << State::Idle << 0 << false << QString() << u"Searching…"_s;
    QTest::newRow("server") << true << State::Searching << 3 << false << QString()
                            << u"Searching the server…"_s;
    QTest::newRow("offline") << true << State::Offline << 2 << false << QString()
                             << u"Showing results on this device only (offline)."_s;
    QTest::newRow("offline, none") << true << State::Offline << 0 << false << QString()
                                   << u"No messages on this device match (offline)."_s;
    QTest::newRow("none") << true << State::Done << 0 << false << QString()
                          << u"No messages match."_s;
    QTest::newRow("one") << true << State::Done << 1 << false << QString() << u"One result."_s;
    QTest::newRow("done") << true << State::Done << 5 << false << QString() << u"5 results."_s;
    QTest::newRow("more") << true << State::Done << 20 << true << QString()
                          << u"20 results so far; scroll down for more."_s;
    QTest::newRow("failed") << true << State::Failed << 1 << false << u"Too many searches."_s
                            << u"Showing results on this device only. The server could not "
                               u"search: Too many searches."_s;
}

void TestUiModels::searchStatus()
{
    QFETCH(bool, hasQuery);
    QFETCH(Search::ServerState, state);
    QFETCH(int, hits);
    QFETCH(bool, more);
    QFETCH(QString, error);
    QFETCH(QString, text);
    QCOMPARE(searchStatusText(hasQuery, state, hits, more, error), text);
}

QTEST_MAIN(TestUiModels)
#include "tst_uimodels.moc"
