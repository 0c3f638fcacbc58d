// Renders the desktop client's screenshots for the docs from a real server and
// scripted accounts: the sign-in dialog, the main window with a populated conversation
// (receipts, unread badges, presence, typing), a search with its hits and the chosen
// one pointed out in its conversation, and the offline banner with a queued message. Run by
// scripts/screenshots.sh under Xvfb, once light and once --dark.
#include "codec.h"
#include "composer.h"
#include "conversationview.h"
#include "desktopfixture.h"
#include "messagemodel.h"
#include "searchpanel.h"
#include "searchresultmodel.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QPlainTextEdit>
#include <QStyle>
#include <QStyleFactory>

#include <cstdio>

using namespace Qt::StringLiterals;
using namespace parley;
using namespace parley::test;
using client::ChatMessage;
using ChatClient = parley::client::Client;
using client::ConnectionState;
using client::MessageState;

namespace {

const QString Password = u"correct horse battery"_s;

QPalette darkPalette()
{
    QPalette p;
    const QColor window(0x26, 0x28, 0x2c);
    const QColor base(0x33, 0x36, 0x3b);
    const QColor text(0xe8, 0xea, 0xed);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, window.lighter(115));
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, base);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::white);
    p.setColor(QPalette::Highlight, QColor(0x2b, 0x6c, 0xc4));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Light, base.lighter(150));
    p.setColor(QPalette::Midlight, base.lighter(120));
    p.setColor(QPalette::Mid, QColor(0x55, 0x58, 0x5e));
    p.setColor(QPalette::Dark, window.darker(140));
    p.setColor(QPalette::Shadow, Qt::black);
    p.setColor(QPalette::PlaceholderText, QColor(0x9a, 0xa0, 0xa6));
    p.setColor(QPalette::ToolTipBase, QColor(0x5c, 0x4b, 0x1a));
    p.setColor(QPalette::ToolTipText, QColor(0xf5, 0xe6, 0xc4));
    p.setColor(QPalette::Link, QColor(0x8a, 0xb4, 0xf8));
    p.setColor(QPalette::Disabled, QPalette::Text, QColor(0x80, 0x84, 0x8a));
    p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(0x80, 0x84, 0x8a));
    p.setColor(QPalette::Disabled, QPalette::WindowText, QColor(0x80, 0x84, 0x8a));
    return p;
}

// A scripted account: a bare client-core Client, no widgets.
struct Peer
{
    explicit Peer(const QString &user)
        : name(user)
        , client(&credentials)
    { }
    QString name;
    client::MemoryCredentialStore credentials;
    ChatClient client;
};

bool fail(const char *what)
{
    std::fprintf(stderr, "parley_screenshots: %s\n", what);
    return false;
}

void settle(int ms = 600)
{
    // Lets receipts, presence and repaints go round before a picture is taken.
    waitUntil([] { return false; }, ms);
}

bool save(QWidget *widget, const QString &path)
{
    settle();
    const bool ok = widget->grab().save(path);
    std::printf("%s %s\n", ok ? "wrote" : "could not write", qPrintable(path));
    return ok;
}

bool run(const QString &outDir, const QString &theme)
{
    ServerProcess server;
    if (!server.start())
        return fail("the server did not start");

    Desktop alice(u"alice"_s);
    alice.open();
    ui::SignInDialog *dialog = alice.session->signInDialog();
    dialog->serverField()->setText(
        server.url().toString(QUrl::RemovePath | QUrl::RemoveScheme).mid(2));
    dialog->userField()->setText(u"alice"_s);
    dialog->passwordField()->setText(Password);
    dialog->adjustSize();
    if (!save(dialog, outDir + u"/signin-"_s + theme + u".png"_s))
        return false;
    // What a Linux desktop without a keyring shows: the note arrives after the dialog is
    // up, and the dialog grows for it by itself (no adjustSize here).
    dialog->setKeychainProblem(u"no keyring service is running (org.freedesktop.secrets)"_s);
    if (!save(dialog, outDir + u"/signin-nokeyring-"_s + theme + u".png"_s))
        return false;
    dialog->setKeychainProblem({});
    alice.submit(server.url(), u"alice"_s, Password, true);
    if (!waitUntil([&] { return alice.client()->state() == ConnectionState::Online; }, 30000))
        return fail("alice could not sign up");

    std::vector<std::unique_ptr<Peer>> peers;
    for (const QString &name : {u"bob"_s, u"carol"_s, u"dave"_s, u"erin"_s}) {
        auto peer = std::make_unique<Peer>(name);
        peer->client.setServer(server.url());
        peer->client.signIn(name, Password, true, false);
        peers.push_back(std::move(peer));
    }
    if (!waitUntil(
            [&] {
                return std::all_of(peers.cbegin(), peers.cend(),
                    [](const auto &p) { return p->client.state() == ConnectionState::Online; });
            },
            60000))
        return fail("the scripted accounts could not sign up");
    ChatClient &bob = peers[0]->client;
    ChatClient &carol = peers[1]->client;
    ChatClient &dave = peers[2]->client;
    ChatClient &erin = peers[3]->client;
    ChatClient *me = alice.client();
    auto drained = [](ChatClient &c) {
        return waitUntil([&c] { return c.pendingMessages().isEmpty(); }, 30000);
    };

    // Older conversations first, so the list has an order to show.
    dave.send(u"alice"_s, u"The build is green again."_s);
    dave.send(u"alice"_s, u"Deploying to staging in 10 minutes"_s);
    drained(dave);
    erin.send(u"alice"_s, u"Thanks for the review!"_s);
    drained(erin);
    const QString withErin = protocol::conversationId(u"alice", u"erin");
    waitUntil([&] { return me->contiguousSeq(withErin) > 0; }, 10000);
    me->markRead(withErin, me->contiguousSeq(withErin));
    me->send(u"erin"_s, u"Any time. The retry logic looks much cleaner now."_s);
    drained(*me);
    settle(300);
    carol.send(u"alice"_s, u"Lunch on Friday? The new place on Elm Street."_s);
    drained(carol);
    settle(300);

    const QString withBob = protocol::conversationId(u"alice", u"bob");
    auto bobSays = [&](const QString &text) {
        bob.send(u"alice"_s, text);
        drained(bob);
        settle(250);
    };
    auto aliceSays = [&](const QString &text) {
        me->send(u"bob"_s, text);
        drained(*me);
        settle(250);
    };
    bobSays(u"Hey Alice! Are we still on for the design review tomorrow?"_s);
    aliceSays(u"Yes, 10:00 in the small meeting room."_s);
    bobSays(u"Perfect. I'll bring the new mockups for the settings dialog and the "
            u"conversation list, including the dark theme variants we talked about."_s);
    aliceSays(u"Great! Could you also share the notes from last week?"_s);
    bobSays(u"Sure, sending them tonight."_s);
    // Bob has read everything so far; the last message is only delivered.
    bob.markRead(withBob, bob.contiguousSeq(withBob));
    settle(300);
    aliceSays(u"Thanks. See you tomorrow!"_s);

    alice.window()->resize(1040, 700);
    alice.window()->openConversationWith(u"bob"_s);
    auto *view = alice.window()->conversationView();
    if (!waitUntil([&] { return view->model()->rowCount() == 6; }, 10000))
        return fail("the conversation did not load");
    if (!waitUntil(
            [&] {
                return view->model()->message(5).state == MessageState::Delivered
                    && view->model()->message(3).state == MessageState::Read;
            },
            10000))
        return fail("the receipts did not arrive");
    dave.disconnectFromServer(); // one peer offline: a hollow presence dot
    bob.setComposing(u"alice"_s, true);
    if (!waitUntil([&] { return !view->typingLabel()->text().isEmpty(); }, 10000))
        return fail("the typing indicator did not show");
    view->composer()->editor()->setPlainText(u"I'll bring coffee"_s);
    if (!save(alice.window(), outDir + u"/main-"_s + theme + u".png"_s))
        return false;

    // Search: three letters in the box (Ctrl+K), the hits, one opened at its message.
    view->composer()->clear();
    bob.setComposing(u"alice"_s, false);
    ui::SearchPanel *search = alice.window()->searchPanel();
    alice.window()->startSearch(false);
    QTest::keyClicks(search->field(), u"rev"_s);
    if (!waitUntil(
            [&] {
                return search->results()->rowCount() == 2
                    && search->search()->serverState() != client::Search::ServerState::Searching;
            },
            10000))
        return fail("the search found nothing");
    const int bobsHit = search->results()->hit(0).conv == withBob ? 0 : 1;
    search->resultList()->setCurrentIndex(search->results()->index(bobsHit));
    alice.window()->openSearchHit(search->results()->hit(bobsHit));
    if (!waitUntil([&] { return view->model()->highlightedSeq() > 0; }, 10000))
        return fail("the hit did not open");
    if (!save(alice.window(), outDir + u"/search-"_s + theme + u".png"_s))
        return false;
    QTest::keyClick(search->field(), Qt::Key_Escape);
    waitUntil([&] { return view->model()->highlightedSeq() == 0; }, 10000); // the band fades

    // The server goes away: the banner, and a message waiting in the outbox.
    server.stop();
    if (!waitUntil(
            [&] {
                return !alice.window()->banner()->isHidden()
                    && alice.client()->state() != ConnectionState::Connecting;
            },
            30000))
        return fail("the offline banner did not show");
    me->send(u"bob"_s, u"(written on the train, no signal)"_s);
    return save(alice.window(), outDir + u"/offline-"_s + theme + u".png"_s);
}

} // namespace

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(u"Renders the desktop client's screenshots."_s);
    parser.addHelpOption();
    const QCommandLineOption dark(u"dark"_s, u"Use a dark palette."_s);
    const QCommandLineOption out(u"out"_s, u"Where the PNG files go."_s, u"DIR"_s, u"."_s);
    parser.addOption(dark);
    parser.addOption(out);
    parser.process(app);

    QStandardPaths::setTestModeEnabled(true);
    QApplication::setStyle(QStyleFactory::create(u"Fusion"_s));
    QApplication::setPalette(
        parser.isSet(dark) ? darkPalette() : QApplication::style()->standardPalette());
    QFont font = QApplication::font();
    font.setPointSizeF(10);
    QApplication::setFont(font);
    QDir().mkpath(parser.value(out));
    return run(parser.value(out), parser.isSet(dark) ? u"dark"_s : u"light"_s) ? 0 : 1;
}
