// The whole desktop client against the real `parley server` on a loopback port, driven
// through its widgets like a user: signing up and in (and the errors), sending, the
// status going to delivered and read between two clients, notifications and the unread
// count while in the background, the offline banner and a queued message delivered once
// the server is back, Retry and Delete on a failed message, a remembered sign-in and
// signing out. Every model the windows use runs under QAbstractItemModelTester.
#include "composer.h"
#include "conversationlistmodel.h"
#include "conversationview.h"
#include "desktopfixture.h"
#include "messagemodel.h"
#include "newconversationdialog.h"

#include <QAbstractItemModelTester>
#include <QCheckBox>
#include <QLabel>
#include <QListView>
#include <QPlainTextEdit>
#include <QStandardItemModel>
#include <QTcpServer>

using namespace Qt::StringLiterals;
using namespace parley;
using namespace parley::test;
using client::ChatMessage;
using client::ConnectionState;
using client::MessageState;

namespace {

const QString Password = u"correct horse battery"_s;
constexpr int Slow = 30000; // generous: a sign-in hashes the password on the server

ui::MessageModel *messages(Desktop &d)
{
    return d.window()->conversationView()->model();
}

// The newest message the open conversation shows.
ChatMessage last(Desktop &d)
{
    ui::MessageModel *model = messages(d);
    return model->message(model->rowCount() - 1);
}

void type(Desktop &d, const QString &text)
{
    QPlainTextEdit *editor = d.window()->conversationView()->composer()->editor();
    QTest::keyClicks(editor, text);
    QTest::keyClick(editor, Qt::Key_Return);
}

// The conversation with peer in d's list, opened as a click would.
bool openFromList(Desktop &d, const QString &peer)
{
    ui::ConversationListModel *list = d.window()->conversations();
    for (int row = 0; row < list->rowCount(); ++row) {
        if (list->info(row).peer == peer) {
            d.window()->conversationList()->setCurrentIndex(list->index(row));
            return true;
        }
    }
    return false;
}

int unreadFrom(Desktop &d, const QString &peer)
{
    ui::ConversationListModel *list = d.window()->conversations();
    for (int row = 0; row < list->rowCount(); ++row) {
        if (list->info(row).peer == peer)
            return list->info(row).unread;
    }
    return -1;
}

} // namespace

class TestDesktop : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void signUpSendDeliveredAndRead();
    void offlineBannerAndQueuedDelivery();
    void signInErrors();
    void failedMessageRetryAndDelete();
    void rememberedSignInAndSignOut();

private:
    // Signs up through the dialog and waits for the main window, online.
    bool signUp(Desktop &d, const QString &user);
    void attachTesters(Desktop &d);

    ServerProcess m_server;
    QList<std::shared_ptr<QAbstractItemModelTester>> m_testers;
};

void TestDesktop::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY2(m_server.start(), m_server.errors().constData());
}

bool TestDesktop::signUp(Desktop &d, const QString &user)
{
    d.open();
    if (!d.session->signInDialog()->isVisible())
        return false;
    d.submit(m_server.url(), user, Password, true);
    return waitUntil(
        [&] { return d.window()->isVisible() && d.client()->state() == ConnectionState::Online; },
        Slow);
}

void TestDesktop::attachTesters(Desktop &d)
{
    using Mode = QAbstractItemModelTester::FailureReportingMode;
    m_testers.append(
        std::make_shared<QAbstractItemModelTester>(d.window()->conversations(), Mode::QtTest));
    m_testers.append(std::make_shared<QAbstractItemModelTester>(messages(d), Mode::QtTest));
}

void TestDesktop::signUpSendDeliveredAndRead()
{
    Desktop alice(u"alice"_s);
    Desktop bob(u"bob"_s);
    QVERIFY(signUp(bob, u"bob"_s));
    QVERIFY(signUp(alice, u"alice"_s));
    attachTesters(alice);
    attachTesters(bob);
    QVERIFY(!alice.session->signInDialog()->isVisible());
    QVERIFY(alice.window()->banner()->isHidden());

    // A new conversation through the users directory.
    ui::NewConversationDialog directory(alice.client());
    QAbstractItemModelTester tester(
        directory.resultsModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QTest::keyClicks(directory.searchField(), u"bo"_s);
    QTRY_COMPARE_WITH_TIMEOUT(directory.resultsModel()->rowCount(), 1, Slow);
    QCOMPARE(directory.resultsModel()->item(0)->data(Qt::UserRole).toString(), u"bob"_s);
    directory.results()->setCurrentIndex(directory.resultsModel()->index(0, 0));
    QCOMPARE(directory.chosenUser(), u"bob"_s);
    alice.window()->openConversationWith(directory.chosenUser());
    QCOMPARE(alice.window()->currentConversation(), u"alice:bob"_s);

    // Alice's window is the one in front; bob's is in the background.
    alice.window()->activateWindow();
    QTRY_VERIFY(alice.window()->isActiveWindow());
    type(alice, u"Hello Bob, lunch at noon?"_s);
    QCOMPARE(messages(alice)->rowCount(), 1);
    QCOMPARE(last(alice).body, u"Hello Bob, lunch at noon?"_s);
    QVERIFY(alice.window()->conversationView()->composer()->text().isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(last(alice).state, MessageState::Delivered, Slow);

    // Bob: a conversation with one unread, a notification, the count in the title.
    QTRY_COMPARE_WITH_TIMEOUT(unreadFrom(bob, u"alice"_s), 1, Slow);
    QTRY_VERIFY(bob.window()->notificationsShown() >= 1);
    QTRY_VERIFY(bob.window()->windowTitle().startsWith(u"(1) "_s));
    QVERIFY(openFromList(bob, u"alice"_s));
    QTRY_COMPARE(messages(bob)->rowCount(), 1);
    QCOMPARE(last(bob).body, u"Hello Bob, lunch at noon?"_s);
    // Shown in a window that is not active: not read yet.
    for (int i = 0; i < 10; ++i)
        QCoreApplication::processEvents();
    QCOMPARE(unreadFrom(bob, u"alice"_s), 1);
    QCOMPARE(last(alice).state, MessageState::Delivered);

    // Bob brings his window to the front: what it shows is read, and alice sees it.
    bob.window()->activateWindow();
    QTRY_VERIFY(bob.window()->isActiveWindow());
    QTRY_COMPARE_WITH_TIMEOUT(last(alice).state, MessageState::Read, Slow);
    QTRY_COMPARE(unreadFrom(bob, u"alice"_s), 0);
    QTRY_VERIFY(!bob.window()->windowTitle().startsWith(u"("_s));

    // Bob answers; typing shows on alice's side first.
    QTest::keyClicks(bob.window()->conversationView()->composer()->editor(), u"Sure"_s);
    QTRY_VERIFY_WITH_TIMEOUT(
        alice.window()->conversationView()->typingLabel()->text().contains(u"bob"_s), Slow);
    QTest::keyClick(bob.window()->conversationView()->composer()->editor(), Qt::Key_Return);
    QTRY_COMPARE_WITH_TIMEOUT(messages(alice)->rowCount(), 2, Slow);
    QCOMPARE(last(alice).body, u"Sure"_s);
    QVERIFY(!last(alice).outgoing);
}

void TestDesktop::offlineBannerAndQueuedDelivery()
{
    ServerProcess server;
    QVERIFY2(server.start(), server.errors().constData());
    const quint16 port = server.port();
    Desktop carol(u"carol"_s);
    Desktop dave(u"dave"_s);
    dave.open();
    dave.submit(server.url(), u"dave"_s, Password, true);
    QTRY_COMPARE_WITH_TIMEOUT(dave.client()->state(), ConnectionState::Online, Slow);
    carol.open();
    carol.submit(server.url(), u"carol"_s, Password, true);
    QTRY_COMPARE_WITH_TIMEOUT(carol.client()->state(), ConnectionState::Online, Slow);
    attachTesters(carol);
    attachTesters(dave);
    carol.window()->openConversationWith(u"dave"_s);

    QCOMPARE(server.stop(), 0);
    QTRY_VERIFY_WITH_TIMEOUT(!carol.window()->banner()->isHidden(), Slow);
    QTRY_VERIFY_WITH_TIMEOUT(
        carol.window()->bannerText()->text().startsWith(u"Offline: messages will be sent"_s), Slow);

    type(carol, u"Sent while the server was down"_s);
    QCOMPARE(last(carol).state, MessageState::Queued);
    QCOMPARE(carol.window()->conversations()->info(0).peer, u"dave"_s);
    QCOMPARE(carol.window()
                 ->conversations()
                 ->index(0)
                 .data(ui::ConversationListModel::PreviewRole)
                 .toString(),
        u"You: Sent while the server was down"_s);

    QVERIFY2(server.start({}, port), server.errors().constData());
    // The user does not have to wait for the backoff: the banner's button.
    QTest::mouseClick(carol.window()->reconnectButton(), Qt::LeftButton);
    QTest::mouseClick(dave.window()->reconnectButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(carol.window()->banner()->isHidden(), Slow);
    QTRY_COMPARE_WITH_TIMEOUT(unreadFrom(dave, u"carol"_s), 1, Slow);
    QVERIFY(openFromList(dave, u"carol"_s));
    QTRY_COMPARE(messages(dave)->rowCount(), 1);
    QCOMPARE(last(dave).body, u"Sent while the server was down"_s);
    QTRY_VERIFY_WITH_TIMEOUT(
        last(carol).state == MessageState::Delivered || last(carol).state == MessageState::Read,
        Slow);
}

void TestDesktop::signInErrors()
{
    Desktop first(u"frank"_s);
    QVERIFY(signUp(first, u"frank"_s));

    Desktop other(u"frank2"_s);
    other.open();
    ui::SignInDialog *dialog = other.session->signInDialog();
    other.submit(m_server.url(), u"frank"_s, Password, true);
    QTRY_COMPARE_WITH_TIMEOUT(
        dialog->errorLabel()->text(), u"That user name is already taken."_s, Slow);
    QVERIFY(dialog->signInButton()->isEnabled());

    other.submit(m_server.url(), u"frank"_s, u"not the password"_s, false);
    QTRY_COMPARE_WITH_TIMEOUT(
        dialog->errorLabel()->text(), u"Wrong user name or password."_s, Slow);
    QVERIFY(!other.window()->isVisible());

    // A port nobody listens on.
    QTcpServer closed;
    QVERIFY(closed.listen(QHostAddress::LocalHost));
    const quint16 deadPort = closed.serverPort();
    closed.close();
    other.submit(QUrl(u"ws://127.0.0.1:%1/ws"_s.arg(deadPort)), u"frank"_s, Password, false);
    QTRY_VERIFY_WITH_TIMEOUT(
        dialog->errorLabel()->text().startsWith(u"Cannot reach the server"_s), Slow);
    QCOMPARE(other.client()->state(), ConnectionState::Offline);

    // Bad input never leaves the dialog.
    other.submit(m_server.url(), u"x"_s, Password, false);
    QVERIFY(dialog->errorLabel()->text().startsWith(u"A user name is"_s));
    other.submit(QUrl(u"ws://example.org"_s), u"frank"_s, Password, false);
    QVERIFY(dialog->errorLabel()->text().contains(u"wss://"_s));

    other.submit(m_server.url(), u"frank"_s, Password, false);
    QTRY_VERIFY_WITH_TIMEOUT(other.window()->isVisible(), Slow);
    QVERIFY(!dialog->isVisible());
}

void TestDesktop::failedMessageRetryAndDelete()
{
    Desktop gina(u"gina"_s);
    QVERIFY(signUp(gina, u"gina"_s));
    attachTesters(gina);
    gina.window()->openConversationWith(u"nobody-here"_s);
    type(gina, u"Anyone?"_s);
    QTRY_COMPARE_WITH_TIMEOUT(last(gina).state, MessageState::Failed, Slow);
    QVERIFY(!last(gina).failure.isEmpty());

    QListView *list = gina.window()->conversationView()->messageList();
    list->setFocus();
    list->setCurrentIndex(messages(gina)->index(0));
    QTest::keyClick(list, Qt::Key_R); // Retry: refused again for the same reason
    QTRY_COMPARE_WITH_TIMEOUT(last(gina).state, MessageState::Failed, Slow);
    QVERIFY(last(gina).attempts >= 1);
    QTest::keyClick(list, Qt::Key_Delete);
    QTRY_COMPARE(messages(gina)->rowCount(), 0);
    QVERIFY(gina.client()->pendingMessages().isEmpty());
}

void TestDesktop::rememberedSignInAndSignOut()
{
    Desktop hank(u"hank"_s);
    QVERIFY(signUp(hank, u"hank"_s));
    hank.window()->openConversationWith(u"bob"_s);
    type(hank, u"Remember me"_s);
    QTRY_VERIFY_WITH_TIMEOUT(last(hank).seq > 0, Slow);
    // Nothing secret in the settings file.
    hank.session->settings()->sync();
    QFile settings(hank.profile.settingsFile);
    QVERIFY(settings.open(QIODevice::ReadOnly));
    const QByteArray saved = settings.readAll();
    QVERIFY(saved.contains("hank"));
    QVERIFY(!saved.contains(Password.toUtf8()));
    settings.close();

    // A restart: no dialog, the conversation from the cache, online with the saved token.
    hank.open();
    QVERIFY(hank.window()->isVisible());
    QVERIFY(!hank.session->signInDialog()->isVisible());
    QTRY_COMPARE(hank.window()->conversations()->rowCount(), 1);
    QTRY_COMPARE(hank.window()->currentConversation(), u"bob:hank"_s);
    QTRY_COMPARE(messages(hank)->rowCount(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(hank.client()->state(), ConnectionState::Online, Slow);

    // Sign out: the token is revoked and forgotten; the next start asks again.
    hank.session->signOut();
    QVERIFY(hank.session->signInDialog()->isVisible());
    QVERIFY(!hank.window()->isVisible());
    QTRY_COMPARE_WITH_TIMEOUT(hank.client()->state(), ConnectionState::Offline, Slow);
    QTRY_VERIFY(hank.session->signInDialog()->signInButton()->isEnabled());
    bool loaded = false;
    QString token = u"unread"_s;
    hank.credentials.load(
        u"hank@127.0.0.1:%1"_s.arg(m_server.port()), this, [&](const client::StoredToken &stored) {
            token = stored.token;
            loaded = true;
        });
    QTRY_VERIFY(loaded);
    QVERIFY(token.isEmpty());
    hank.open();
    QVERIFY(hank.session->signInDialog()->isVisible());
    QCOMPARE(hank.session->signInDialog()->userField()->text(), u"hank"_s);
}

QTEST_MAIN(TestDesktop)
#include "tst_desktop.moc"
