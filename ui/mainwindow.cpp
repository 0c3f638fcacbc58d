#include "mainwindow.h"

#include "appicon.h"
#include "codec.h"
#include "conversationdelegate.h"
#include "conversationlistmodel.h"
#include "conversationview.h"
#include "logging.h"
#include "newconversationdialog.h"
#include "searchpanel.h"

#include <QAction>
#include <QApplication>
#include <QBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QMenuBar>
#include <QPushButton>
#include <QSplitter>
#include <QSystemTrayIcon>
#include <QTimer>
#include <QToolButton>

using namespace Qt::StringLiterals;
using parley::client::ChatMessage;
using parley::client::Client;
using parley::client::ConnectionState;
using parley::client::ConversationInfo;
using parley::client::PeerPresence;

namespace parley::ui {

MainWindow::MainWindow(Client *client, const QString &profile, QWidget *parent)
    : QMainWindow(parent)
    , m_client(client)
    , m_profile(profile)
    , m_conversations(new ConversationListModel(this))
    , m_notifyTimer(new QTimer(this))
{
    setWindowIcon(appIcon());
    resize(980, 680);

    // The banner: "Connecting..." or "Offline", with a way to try again at once.
    m_banner = new QFrame(this);
    m_banner->setAutoFillBackground(true);
    m_banner->setBackgroundRole(QPalette::ToolTipBase);
    m_banner->setForegroundRole(QPalette::ToolTipText);
    m_bannerText = new QLabel(m_banner);
    m_bannerText->setAccessibleName(tr("Connection status"));
    m_reconnect = new QPushButton(tr("&Reconnect now"), m_banner);
    auto *bannerLayout = new QHBoxLayout(m_banner);
    bannerLayout->setContentsMargins(10, 4, 10, 4);
    bannerLayout->addWidget(m_bannerText, 1);
    bannerLayout->addWidget(m_reconnect);
    connect(m_reconnect, &QPushButton::clicked, this, [this] {
        if (m_client)
            m_client->reconnectNow();
    });

    m_list = new QListView(this);
    m_list->setModel(m_conversations);
    m_list->setItemDelegate(new ConversationDelegate(m_list));
    m_list->setAccessibleName(tr("Conversations"));
    m_list->setUniformItemSizes(true); // every row is two lines
    m_list->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_list->setFrameShape(QFrame::NoFrame);
    m_list->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    auto *newButton = new QToolButton(this);
    newButton->setText(tr("New"));
    newButton->setToolTip(
        tr("New conversation (%1)")
            .arg(QKeySequence(QKeySequence::New).toString(QKeySequence::NativeText)));
    newButton->setAccessibleName(tr("New conversation"));
    connect(newButton, &QToolButton::clicked, this, &MainWindow::newConversation);
    auto *listTitle = new QLabel(tr("Conversations"), this);
    QFont titleFont = listTitle->font();
    titleFont.setBold(true);
    listTitle->setFont(titleFont);
    auto *listHeader = new QHBoxLayout;
    listHeader->addWidget(listTitle, 1);
    listHeader->addWidget(newButton);
    // The search box above the list; while searching, the results take the list's place.
    m_search = new SearchPanel(client, this);
    auto *side = new QWidget(this);
    auto *sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(6, 6, 0, 6);
    sideLayout->addLayout(listHeader);
    sideLayout->addWidget(m_search);
    sideLayout->addWidget(m_list, 1);
    connect(m_search, &SearchPanel::activeChanged, this,
        [this](bool active) { m_list->setVisible(!active); });
    connect(m_search, &SearchPanel::hitActivated, this, &MainWindow::openSearchHit);
    connect(m_search, &SearchPanel::closed, this, &MainWindow::endSearch);

    m_view = new ConversationView(client, this);
    auto *splitter = new QSplitter(this);
    splitter->addWidget(side);
    splitter->addWidget(m_view);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({300, 680});
    splitter->setChildrenCollapsible(false);

    auto *central = new QWidget(this);
    auto *layout = new QVBoxLayout(central);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(m_banner);
    layout->addWidget(splitter, 1);
    setCentralWidget(central);
    buildMenus();

    if (QSystemTrayIcon::isSystemTrayAvailable()) {
        m_tray = new QSystemTrayIcon(appIcon(), this);
        m_tray->setToolTip(tr("Parley"));
        m_tray->show();
        connect(m_tray, &QSystemTrayIcon::activated, this, [this] {
            showNormal();
            raise();
            activateWindow();
        });
        connect(m_tray, &QSystemTrayIcon::messageClicked, this, [this] {
            showNormal();
            raise();
            activateWindow();
        });
    }
    m_notifyTimer->setSingleShot(true);
    m_notifyTimer->setInterval(NotificationDelayMs);
    connect(m_notifyTimer, &QTimer::timeout, this, &MainWindow::showNotification);

    connect(m_list->selectionModel(), &QItemSelectionModel::currentChanged, this,
        &MainWindow::onCurrentChanged);
    connect(m_conversations, &QAbstractItemModel::dataChanged, this, &MainWindow::updateTitle);
    connect(m_conversations, &QAbstractItemModel::modelReset, this, &MainWindow::updateTitle);
    connect(m_conversations, &QAbstractItemModel::rowsInserted, this, &MainWindow::updateTitle);

    connect(client, &Client::accountReady, this, &MainWindow::reload);
    connect(client, &Client::stateChanged, this, &MainWindow::onStateChanged);
    connect(client, &Client::messageAdded, this, &MainWindow::onMessageAdded);
    connect(client, &Client::conversationChanged, this, [this](const ConversationInfo &info) {
        const bool known = m_conversations->rowOf(info.conv) >= 0;
        m_conversations->upsert(info);
        if (!known && m_client)
            m_client->watch({info.peer});
    });
    connect(client, &Client::presenceChanged, m_conversations, &ConversationListModel::setPresence);
    onStateChanged(client->state());
    updateTitle();
}

void MainWindow::buildMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&Parley"));
    file->addAction(
        tr("&New conversation…"), QKeySequence::New, this, &MainWindow::newConversation);
    file->addAction(
        tr("&Settings…"), QKeySequence(u"Ctrl+,"_s), this, &MainWindow::settingsRequested);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, qApp, &QApplication::quit);
    QMenu *go = menuBar()->addMenu(tr("&Go"));
    go->addAction(tr("&Previous conversation"), QKeySequence(u"Ctrl+PgUp"_s), this,
        [this] { stepConversation(-1); });
    go->addAction(tr("&Next conversation"), QKeySequence(u"Ctrl+PgDown"_s), this,
        [this] { stepConversation(1); });
    go->addAction(tr("&Conversation list"), QKeySequence(u"Ctrl+L"_s), this, [this] {
        m_search->stop(); // the list is hidden while searching
        m_list->setFocus();
    });
    go->addAction(
        tr("&Message box"), QKeySequence(u"Ctrl+M"_s), this, [this] { m_view->setFocus(); });
    go->addSeparator();
    m_findAction = go->addAction(
        tr("&Find in conversation…"), QKeySequence::Find, this, [this] { startSearch(true); });
    m_searchAllAction = go->addAction(tr("&Search all conversations…"), QKeySequence(u"Ctrl+K"_s),
        this, [this] { startSearch(false); });
}

void MainWindow::startSearch(bool inConversation)
{
    // Remembered before the box takes the focus: Esc gives it back.
    if (QApplication::focusWidget() && !m_search->isAncestorOf(QApplication::focusWidget()))
        m_focusBeforeSearch = QApplication::focusWidget();
    const QString conv = inConversation ? m_view->conversation() : QString();
    m_search->start(conv, conv.isEmpty() ? QString() : m_view->peer());
}

void MainWindow::endSearch()
{
    QWidget *back = m_focusBeforeSearch;
    m_focusBeforeSearch.clear();
    if (back && back->isVisible())
        back->setFocus(Qt::OtherFocusReason);
    else if (!m_view->conversation().isEmpty())
        m_view->setFocus(Qt::OtherFocusReason);
    else
        m_list->setFocus(Qt::OtherFocusReason);
}

void MainWindow::openSearchHit(const client::SearchHit &hit)
{
    if (hit.conv.isEmpty() || hit.seq <= 0)
        return;
    qCDebug(lcUi) << "opening" << hit.conv << "at" << hit.seq;
    if (m_view->conversation() == hit.conv) {
        m_view->showMessage(hit.seq);
        return;
    }
    QString peer = hit.peer;
    if (peer.isEmpty() && m_client) // the other member of "a:b"
        peer = hit.conv.section(u':', 0, 0) == m_client->user() ? hit.conv.section(u':', 1)
                                                                : hit.conv.section(u':', 0, 0);
    const int row = m_conversations->ensure(hit.conv, peer);
    m_openAtSeq = hit.seq;
    m_list->setCurrentIndex(m_conversations->index(row));
    m_openAtSeq = 0;
}

QString MainWindow::currentConversation() const
{
    return m_view->conversation();
}

void MainWindow::reload(const QString &user)
{
    m_search->stop(); // another account's hits
    m_conversations->clear();
    m_conversations->setUser(user);
    m_view->closeConversation();
    if (!m_client)
        return;
    m_client->loadConversations(this, [this](const QList<ConversationInfo> &list) {
        // Conversations may have arrived from the server while the cache was read.
        for (const ConversationInfo &info : list) {
            if (m_conversations->rowOf(info.conv) < 0)
                m_conversations->upsert(info);
        }
        m_client->watch(m_conversations->peers());
        const int row = m_conversations->rowOf(m_restoreConv);
        if (row >= 0 && m_view->conversation().isEmpty())
            m_list->setCurrentIndex(m_conversations->index(row));
    });
    updateTitle();
}

void MainWindow::onStateChanged(ConnectionState state)
{
    m_conversations->setConnected(state == ConnectionState::Online);
    switch (state) {
    case ConnectionState::Online:
        m_banner->hide();
        return;
    case ConnectionState::Connecting:
    case ConnectionState::Authenticating:
        m_bannerText->setText(tr("Connecting…"));
        m_reconnect->hide();
        break;
    case ConnectionState::Backoff:
    case ConnectionState::Offline:
        m_bannerText->setText(tr("Offline: messages will be sent when you're back online."));
        m_reconnect->show();
        break;
    }
    m_banner->show();
}

void MainWindow::onMessageAdded(const ChatMessage &message)
{
    if (message.outgoing) {
        if (message.seq == 0) {
            m_conversations->ensure(message.conv, message.to);
            m_conversations->notePending(message);
        }
        return;
    }
    const bool seen = isActiveWindow() && message.conv == m_view->conversation();
    if (seen || !m_notify)
        return;
    m_unnotified.append(message);
    if (!m_notifyTimer->isActive())
        m_notifyTimer->start();
}

void MainWindow::showNotification()
{
    const QList<ChatMessage> messages = std::exchange(m_unnotified, {});
    if (messages.isEmpty() || isActiveWindow())
        return;
    QStringList senders;
    for (const ChatMessage &m : messages) {
        if (!senders.contains(m.from))
            senders.append(m.from);
    }
    // The message text is shown only for a single message from a single sender.
    const QString title = messages.size() == 1
        ? messages.first().from
        : tr("%n new messages", nullptr, int(messages.size()));
    const QString body
        = messages.size() == 1 ? messages.first().body : tr("From %1").arg(senders.join(u", "_s));
    ++m_notificationsShown;
    qCDebug(lcUi) << "notifying of" << messages.size() << "messages";
    if (m_tray)
        m_tray->showMessage(title, body, appIcon(), 5000);
    QApplication::alert(this);
}

void MainWindow::onCurrentChanged(const QModelIndex &current)
{
    if (!current.isValid())
        return;
    const ConversationInfo info = m_conversations->info(current.row());
    m_view->open(info, m_openAtSeq);
    Q_EMIT conversationOpened(info.conv);
}

void MainWindow::openConversationWith(const QString &peer)
{
    if (!m_client)
        return;
    const QString name = protocol::normalizeUserName(peer);
    const QString conv = protocol::conversationId(m_client->user(), name);
    const int row = m_conversations->ensure(conv, name);
    m_client->watch({name});
    m_list->setCurrentIndex(m_conversations->index(row));
    m_view->setFocus();
}

void MainWindow::newConversation()
{
    if (!m_client)
        return;
    NewConversationDialog dialog(m_client, this);
    if (dialog.exec() == QDialog::Accepted)
        openConversationWith(dialog.chosenUser());
}

void MainWindow::stepConversation(int delta)
{
    const int rows = m_conversations->rowCount();
    if (rows == 0)
        return;
    const int row = std::clamp(m_list->currentIndex().row() + delta, 0, rows - 1);
    m_list->setCurrentIndex(m_conversations->index(row));
}

void MainWindow::updateTitle()
{
    const QString user = m_client ? m_client->user() : QString();
    QString title = user.isEmpty() ? tr("Parley") : tr("Parley — %1").arg(user);
    if (!m_profile.isEmpty())
        title += u" ["_s + m_profile + u']';
    const int unread = m_conversations->totalUnread();
    if (unread > 0)
        title = tr("(%1) %2").arg(unread).arg(title);
    setWindowTitle(title);
    if (m_tray)
        m_tray->setToolTip(title);
}

} // namespace parley::ui
