// Search in the desktop client against the real `parley server` on a loopback port,
// driven through the widgets: three letters typed show their matches (from the cache,
// offline too); choosing a hit opens its conversation at that message, also when the
// message is far back in history or was never downloaded, and scrolling from there
// loads the history around it until it meets the newest messages; Ctrl+F searches the
// open conversation only, Ctrl+K all of them, Esc ends the search and gives the focus
// back. The hit list runs under QAbstractItemModelTester.
#include "composer.h"
#include "conversationlistmodel.h"
#include "conversationview.h"
#include "desktopfixture.h"
#include "messagemodel.h"
#include "searchpanel.h"
#include "searchresultmodel.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QLabel>
#include <QListView>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QToolButton>

using namespace Qt::StringLiterals;
using namespace parley;
using namespace parley::test;
using client::ConnectionState;
using client::SearchHit;

namespace {

const QString Password = u"correct horse battery"_s;
constexpr int Slow = 30000;
const QString WithBob = u"alice:bob"_s;
const QString WithCarol = u"alice:carol"_s;
// Bob's messages to alice: this many, a few of them findable (by the order they are
// sent in; their seqs are read back from bob's cache).
constexpr int BobMessages = 300;
const QHash<int, QString> Findable {
    {6, u"The walrus report is attached"_s}, // never downloaded by alice's client
    {220, u"Narwhal sightings doubled this year"_s}, // cached, older than the newest page
    {290, u"Penguin parade at noon"_s}, // in the newest page
    {295, u"The lunch menu is attached"_s},
};

// A scripted account: client-core only, no widgets.
struct Peer
{
    Peer()
        : client(&credentials)
    { }
    client::MemoryCredentialStore credentials;
    client::Client client;
};

// Whether the row of seq in the open conversation is current and on screen.
bool shownAndCurrent(ui::ConversationView *view, qint64 seq)
{
    const int row = view->model()->rowOfSeq(seq);
    if (row < 0)
        return false;
    const QModelIndex index = view->model()->index(row);
    QListView *list = view->messageList();
    return list->currentIndex() == index
        && list->viewport()->rect().intersects(list->visualRect(index));
}

// Every stored message from the oldest shown to the newest, with no hole.
bool contiguous(ui::MessageModel *model)
{
    qint64 previous = 0;
    for (int row = 0; row < model->rowCount(); ++row) {
        const qint64 seq = model->message(row).seq;
        if (seq == 0)
            continue;
        if (previous && seq != previous + 1)
            return false;
        previous = seq;
    }
    return true;
}

} // namespace

class TestDesktopSearch : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();
    void threeLettersShowMatches();
    void offlineShowsCachedHits();
    void searchJumpsToMessage_data();
    void searchJumpsToMessage();
    void windowLoadsBothWays();
    void ctrlFSearchesOpenConversation();

private:
    ui::SearchPanel *panel() const { return m_alice->window()->searchPanel(); }
    ui::ConversationView *view() const { return m_alice->window()->conversationView(); }
    // Types text into the search box like a user (after emptying it).
    void typeQuery(const QString &text);
    int rowOf(qint64 seq) const;
    bool openFromList(const QString &peer);

    ServerProcess m_server;
    std::unique_ptr<Desktop> m_alice;
    std::unique_ptr<Peer> m_bob;
    std::unique_ptr<Peer> m_carol;
    std::unique_ptr<QAbstractItemModelTester> m_tester;
    QHash<int, qint64> m_seq; // the seq of each findable message, by when it was sent
};

void TestDesktopSearch::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY2(m_server.start(), m_server.errors().constData());
    m_alice = std::make_unique<Desktop>(u"alice"_s);
    m_alice->open();
    m_alice->submit(m_server.url(), u"alice"_s, Password, true);
    QTRY_COMPARE_WITH_TIMEOUT(m_alice->client()->state(), ConnectionState::Online, Slow);
    m_tester = std::make_unique<QAbstractItemModelTester>(
        panel()->results(), QAbstractItemModelTester::FailureReportingMode::QtTest);

    // Alice is away while bob writes a long history: when she is back, her client only
    // downloads its newest page (client-core's initialPage) and older ones on demand.
    m_alice->client()->disconnectFromServer();
    m_bob = std::make_unique<Peer>();
    m_carol = std::make_unique<Peer>();
    for (auto *peer : {m_bob.get(), m_carol.get()}) {
        peer->client.setServer(m_server.url());
        peer->client.signIn(peer == m_bob.get() ? u"bob"_s : u"carol"_s, Password, true, false);
        QTRY_COMPARE_WITH_TIMEOUT(peer->client.state(), ConnectionState::Online, Slow);
    }
    // In batches, within the server's flood limits.
    for (int seq = 1; seq <= BobMessages; ++seq) {
        m_bob->client.send(u"alice"_s, Findable.value(seq, u"Note %1 about nothing"_s.arg(seq)));
        if (seq % 40 == 0 || seq == BobMessages)
            QTRY_VERIFY_WITH_TIMEOUT(m_bob->client.pendingMessages().isEmpty(), Slow);
    }
    m_carol->client.send(u"alice"_s, u"Lunch on Friday? The new place on Elm Street."_s);
    QTRY_VERIFY_WITH_TIMEOUT(m_carol->client.pendingMessages().isEmpty(), Slow);
    QCOMPARE(m_bob->client.contiguousSeq(WithBob), BobMessages);
    bool loaded = false;
    m_bob->client.loadMessages(
        WithBob, 0, BobMessages, this, [this, &loaded](const QList<client::ChatMessage> &page) {
            for (const client::ChatMessage &m : page) {
                if (const int sent = Findable.key(m.body); sent > 0)
                    m_seq.insert(sent, m.seq);
            }
            loaded = true;
        });
    QTRY_VERIFY(loaded);
    QCOMPARE(m_seq.size(), Findable.size());

    m_alice->client()->connection()->open();
    QTRY_COMPARE_WITH_TIMEOUT(m_alice->window()->conversations()->rowCount(), 2, Slow);
    QTRY_COMPARE_WITH_TIMEOUT(m_alice->client()->contiguousSeq(WithBob), BobMessages, Slow);
    QTRY_COMPARE_WITH_TIMEOUT(m_alice->client()->contiguousSeq(WithCarol), 1, Slow);
    const int bobRow = m_alice->window()->conversations()->rowOf(WithBob);
    QVERIFY(m_alice->window()->conversations()->info(bobRow).floorSeq > m_seq.value(6));
    m_alice->window()->activateWindow();
    QTRY_VERIFY(m_alice->window()->isActiveWindow());
}

void TestDesktopSearch::cleanup()
{
    if (panel()->isActive())
        QTest::keyClick(panel()->field(), Qt::Key_Escape);
    QVERIFY(!panel()->isActive());
}

void TestDesktopSearch::typeQuery(const QString &text)
{
    QLineEdit *field = panel()->field();
    if (!field->hasFocus())
        m_alice->window()->searchAllAction()->trigger();
    field->selectAll();
    QTest::keyClick(field, Qt::Key_Backspace);
    QTest::keyClicks(field, text);
}

int TestDesktopSearch::rowOf(qint64 seq) const
{
    ui::SearchResultModel *results = panel()->results();
    for (int row = 0; row < results->rowCount(); ++row) {
        if (results->hit(row).seq == seq && results->hit(row).conv == WithBob)
            return row;
    }
    return -1;
}

bool TestDesktopSearch::openFromList(const QString &peer)
{
    ui::ConversationListModel *list = m_alice->window()->conversations();
    for (int row = 0; row < list->rowCount(); ++row) {
        if (list->info(row).peer == peer) {
            m_alice->window()->conversationList()->setCurrentIndex(list->index(row));
            return true;
        }
    }
    return false;
}

void TestDesktopSearch::threeLettersShowMatches()
{
    typeQuery(u"nar"_s);
    QVERIFY(panel()->isActive());
    QVERIFY(!m_alice->window()->conversationList()->isVisible());
    QTRY_COMPARE_WITH_TIMEOUT(panel()->results()->rowCount(), 1, Slow);
    const QModelIndex hit = panel()->results()->index(0);
    QCOMPARE(hit.data(ui::SearchResultModel::SeqRole).toLongLong(), m_seq.value(220));
    QCOMPARE(hit.data(ui::SearchResultModel::PeerRole).toString(), u"bob"_s);
    QCOMPARE(hit.data(Qt::DisplayRole).toString(), Findable.value(220));
    QVERIFY(hit.data(ui::SearchResultModel::CachedRole).toBool());
    // The server has answered too and found nothing more.
    QTRY_COMPARE_WITH_TIMEOUT(panel()->statusLabel()->text(), u"One result."_s, Slow);

    // Every word is needed; hits from both conversations, newest first.
    typeQuery(u"lun"_s);
    QTRY_COMPARE_WITH_TIMEOUT(panel()->results()->rowCount(), 2, Slow);
    QCOMPARE(panel()->results()->hit(0).conv, WithCarol);
    QCOMPARE(panel()->results()->hit(1).seq, m_seq.value(295));
    typeQuery(u"lun men"_s);
    QTRY_COMPARE_WITH_TIMEOUT(panel()->results()->rowCount(), 1, Slow);
    QCOMPARE(panel()->results()->hit(0).seq, m_seq.value(295));
    typeQuery(u"zebra"_s);
    QTRY_COMPARE_WITH_TIMEOUT(panel()->statusLabel()->text(), u"No messages match."_s, Slow);
    QCOMPARE(panel()->results()->rowCount(), 0);
}

void TestDesktopSearch::offlineShowsCachedHits()
{
    m_alice->client()->disconnectFromServer();
    QTRY_COMPARE(m_alice->client()->state(), ConnectionState::Offline);
    typeQuery(u"pen"_s);
    QTRY_COMPARE_WITH_TIMEOUT(panel()->results()->rowCount(), 1, Slow);
    QCOMPARE(panel()->results()->hit(0).seq, m_seq.value(290));
    QTRY_COMPARE_WITH_TIMEOUT(
        panel()->statusLabel()->text(), u"Showing results on this device only (offline)."_s, Slow);
    // Never downloaded: nothing to show offline.
    typeQuery(u"wal"_s);
    QTRY_COMPARE_WITH_TIMEOUT(
        panel()->statusLabel()->text(), u"No messages on this device match (offline)."_s, Slow);
    QCOMPARE(panel()->results()->rowCount(), 0);
    m_alice->client()->connection()->open();
    QTRY_COMPARE_WITH_TIMEOUT(m_alice->client()->state(), ConnectionState::Online, Slow);
}

void TestDesktopSearch::searchJumpsToMessage_data()
{
    QTest::addColumn<QString>("query");
    QTest::addColumn<int>("sent"); // the findable message, by when it was sent
    QTest::addColumn<bool>("cached");
    QTest::addColumn<bool>("live"); // the newest page was enough
    QTest::newRow("in the newest page") << u"pengu"_s << 290 << true << true;
    QTest::newRow("cached, older than the page") << u"narwh"_s << 220 << true << false;
    QTest::newRow("never downloaded") << u"walru"_s << 6 << false << false;
}

void TestDesktopSearch::searchJumpsToMessage()
{
    QFETCH(QString, query);
    QFETCH(int, sent);
    const qint64 seq = m_seq.value(sent);
    QFETCH(bool, cached);
    QFETCH(bool, live);
    QVERIFY(openFromList(u"carol"_s)); // the hit is in another conversation
    QTRY_COMPARE(view()->model()->rowCount(), 1);
    QList<qint64> highlighted;
    connect(view()->model(), &QAbstractItemModel::dataChanged, this,
        [&](const QModelIndex &, const QModelIndex &, const QList<int> &roles) {
            if (roles.contains(ui::MessageModel::HighlightRole))
                highlighted.append(view()->model()->highlightedSeq());
        });

    typeQuery(query);
    QTRY_VERIFY_WITH_TIMEOUT(rowOf(seq) >= 0, Slow);
    QCOMPARE(panel()->results()->hit(rowOf(seq)).cached, cached);
    // The keyboard: Down from the box moves through the hits, Enter opens one.
    QCOMPARE(panel()->resultList()->currentIndex().row(), 0);
    for (int i = 0; i < rowOf(seq); ++i)
        QTest::keyClick(panel()->field(), Qt::Key_Down);
    QCOMPARE(panel()->resultList()->currentIndex().row(), rowOf(seq));
    QTest::keyClick(panel()->field(), Qt::Key_Return);

    QCOMPARE(m_alice->window()->currentConversation(), WithBob);
    QTRY_VERIFY_WITH_TIMEOUT(shownAndCurrent(view(), seq), Slow);
    QVERIFY(highlighted.contains(seq));
    QCOMPARE(view()->model()->message(view()->model()->rowOfSeq(seq)).body, Findable.value(sent));
    QTRY_COMPARE(view()->isLive(), live);
    QTRY_COMPARE(view()->latestButton()->isVisible(), !live);
    QVERIFY(contiguous(view()->model()));
    // Only a window around it was loaded, not the history in between.
    QVERIFY(view()->model()->rowCount() <= 2 * ui::ConversationView::PageSize + 1);
    QVERIFY(panel()->isActive()); // the hits stay for the next try
    disconnect(view()->model(), &QAbstractItemModel::dataChanged, this, nullptr);

    // Back to the newest messages.
    if (!live) {
        QTest::mouseClick(view()->latestButton(), Qt::LeftButton);
        QTRY_VERIFY(view()->isLive());
        QTRY_COMPARE(view()->model()->newestSeq(), BobMessages);
    }
}

void TestDesktopSearch::windowLoadsBothWays()
{
    // Open at the message never downloaded, then scroll up and down from there.
    const qint64 walrus = m_seq.value(6);
    typeQuery(u"walrus"_s);
    QTRY_VERIFY_WITH_TIMEOUT(rowOf(walrus) >= 0, Slow);
    m_alice->window()->openSearchHit(panel()->results()->hit(rowOf(walrus)));
    QTRY_VERIFY_WITH_TIMEOUT(shownAndCurrent(view(), walrus), Slow);
    QVERIFY(!view()->isLive());
    QScrollBar *bar = view()->messageList()->verticalScrollBar();

    // Up: the first message of the conversation.
    QVERIFY(waitUntil(
        [&] {
            bar->setValue(bar->minimum());
            return view()->model()->oldestSeq() == 1;
        },
        Slow));
    // Down: page after page from the server, until the window meets the newest page.
    QVERIFY(waitUntil(
        [&] {
            bar->setValue(bar->maximum());
            return view()->isLive();
        },
        120000));
    QCOMPARE(view()->model()->newestSeq(), BobMessages);
    QVERIFY(contiguous(view()->model()));

    // Live again: a new message joins at the bottom.
    m_bob->client.send(u"alice"_s, u"Are you still there?"_s);
    QTRY_COMPARE_WITH_TIMEOUT(view()->model()->newestSeq(), BobMessages + 1, Slow);
    QVERIFY(contiguous(view()->model()));
}

void TestDesktopSearch::ctrlFSearchesOpenConversation()
{
    ui::MainWindow *window = m_alice->window();
    QVERIFY(openFromList(u"bob"_s));
    QPlainTextEdit *composer = view()->composer()->editor();
    composer->setFocus();
    QTRY_VERIFY(composer->hasFocus());
    QCOMPARE(window->findAction()->shortcut(), QKeySequence(QKeySequence::Find));

    QTest::keyClick(composer, Qt::Key_F, Qt::ControlModifier);
    QTRY_VERIFY(panel()->field()->hasFocus());
    QCOMPARE(panel()->scope(), WithBob);
    QVERIFY(panel()->scopeButton()->isVisible());
    QTest::keyClicks(panel()->field(), u"lunch"_s);
    QTRY_COMPARE_WITH_TIMEOUT(panel()->results()->rowCount(), 1, Slow);
    QCOMPARE(panel()->results()->hit(0).seq, m_seq.value(295));
    QTRY_COMPARE_WITH_TIMEOUT(panel()->statusLabel()->text(), u"One result."_s, Slow);

    // Widened to every conversation: carol's lunch too.
    QTest::mouseClick(panel()->scopeButton(), Qt::LeftButton);
    QVERIFY(panel()->scope().isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(panel()->results()->rowCount(), 2, Slow);

    // Esc: the search ends, the list is back and the message box has the focus again.
    QTest::keyClick(panel()->field(), Qt::Key_Escape);
    QVERIFY(!panel()->isActive());
    QVERIFY(panel()->field()->text().isEmpty());
    QVERIFY(window->conversationList()->isVisible());
    QTRY_VERIFY(composer->hasFocus());

    // Ctrl+K: every conversation, whatever is open.
    QTest::keyClick(composer, Qt::Key_K, Qt::ControlModifier);
    QTRY_VERIFY(panel()->field()->hasFocus());
    QVERIFY(panel()->scope().isEmpty());
    QTest::keyClicks(panel()->field(), u"lunch"_s);
    QTRY_COMPARE_WITH_TIMEOUT(panel()->results()->rowCount(), 2, Slow);
    QTest::keyClick(panel()->resultList(), Qt::Key_Escape);
    QVERIFY(!panel()->isActive());
    QTRY_VERIFY(composer->hasFocus());
}

QTEST_MAIN(TestDesktopSearch)
#include "tst_desktopsearch.moc"
