#include "conversationview.h"

#include "composer.h"
#include "conversationdelegate.h"
#include "logging.h"
#include "messagedelegate.h"
#include "messagemodel.h"

#include <QBoxLayout>
#include <QDateTime>
#include <QKeyEvent>
#include <QLabel>
#include <QListView>
#include <QMenu>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QTimer>
#include <QToolButton>

#include <algorithm>

using namespace Qt::StringLiterals;
using parley::client::ChatMessage;
using parley::client::Client;
using parley::client::ConversationInfo;
using parley::client::MessageState;
using parley::client::PeerPresence;

namespace parley::ui {

ConversationView::ConversationView(Client *client, QWidget *parent)
    : QWidget(parent)
    , m_client(client)
    , m_model(new MessageModel(this))
    , m_delegate(new MessageDelegate(this))
    , m_list(new QListView(this))
    , m_peerName(new QLabel(this))
    , m_peerState(new QLabel(this))
    , m_typing(new QLabel(this))
    , m_composer(new Composer(this))
    , m_notice(new QLabel(this))
    , m_latest(new QToolButton(m_list))
    , m_highlightTimer(new QTimer(this))
{
    m_list->setModel(m_model);
    m_list->setItemDelegate(m_delegate);
    m_list->setAccessibleName(tr("Messages"));
    m_list->setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    m_list->verticalScrollBar()->setSingleStep(24);
    m_list->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_list->setResizeMode(QListView::Adjust);
    m_list->setSelectionMode(QAbstractItemView::NoSelection);
    m_list->setFrameShape(QFrame::NoFrame);
    m_list->setContextMenuPolicy(Qt::CustomContextMenu);
    m_list->installEventFilter(this);
    // Bubbles sit on the window colour; theirs are filled with the base colour.
    m_list->setBackgroundRole(QPalette::Window);
    m_list->viewport()->setBackgroundRole(QPalette::Window);

    QFont nameFont = m_peerName->font();
    nameFont.setBold(true);
    nameFont.setPointSizeF(nameFont.pointSizeF() * 1.15);
    m_peerName->setFont(nameFont);
    m_peerState->setForegroundRole(QPalette::PlaceholderText);
    m_typing->setForegroundRole(QPalette::PlaceholderText);
    m_typing->setAccessibleName(tr("Typing indicator"));
    QFont typingFont = m_typing->font();
    typingFont.setItalic(true);
    m_typing->setFont(typingFont);

    m_notice->setWordWrap(true);
    m_notice->setAutoFillBackground(true);
    m_notice->setBackgroundRole(QPalette::ToolTipBase);
    m_notice->setForegroundRole(QPalette::ToolTipText);
    m_notice->setMargin(6);
    m_notice->hide();
    // Over the list's bottom right corner: back to the newest messages.
    m_latest->setText(tr("↓ Latest"));
    m_latest->setToolTip(tr("Jump to the latest messages"));
    m_latest->setAccessibleName(tr("Jump to the latest messages"));
    m_latest->setCursor(Qt::PointingHandCursor);
    m_latest->hide();
    connect(m_latest, &QToolButton::clicked, this, [this] {
        if (m_live)
            m_list->scrollToBottom();
        else
            showLatest();
    });
    m_highlightTimer->setSingleShot(true);
    m_highlightTimer->setInterval(HighlightMs);
    connect(m_highlightTimer, &QTimer::timeout, this, [this] { m_model->setHighlightedSeq(0); });

    auto *header = new QHBoxLayout;
    header->addWidget(m_peerName);
    header->addWidget(m_peerState, 1);
    m_body = new QWidget(this);
    auto *body = new QVBoxLayout(m_body);
    body->setContentsMargins(0, 0, 0, 0);
    auto *headerFrame = new QFrame(m_body);
    headerFrame->setLayout(header);
    body->addWidget(headerFrame);
    body->addWidget(m_notice);
    body->addWidget(m_list, 1);
    body->addWidget(m_typing);
    body->addWidget(m_composer);

    auto *placeholder
        = new QLabel(tr("Choose a conversation, or start a new one with Ctrl+N."), this);
    placeholder->setAlignment(Qt::AlignCenter);
    placeholder->setForegroundRole(QPalette::PlaceholderText);
    m_placeholder = placeholder;
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_placeholder, 1);
    layout->addWidget(m_body, 1);
    m_body->hide();
    setFocusProxy(m_composer->editor());

    connect(m_composer, &Composer::submitted, this, &ConversationView::send);
    connect(m_composer, &Composer::composingChanged, this, [this](bool composing) {
        if (m_client && !m_peer.isEmpty())
            m_client->setComposing(m_peer, composing);
    });
    connect(m_delegate, &MessageDelegate::retryRequested, this, [this](const QString &cid) {
        if (m_client)
            m_client->retry(cid);
    });
    connect(m_delegate, &MessageDelegate::deleteRequested, this, [this](const QString &cid) {
        if (m_client)
            m_client->forget(cid);
    });
    connect(
        m_list, &QListView::customContextMenuRequested, this, &ConversationView::showContextMenu);

    QScrollBar *bar = m_list->verticalScrollBar();
    connect(bar, &QScrollBar::rangeChanged, this, &ConversationView::onRangeChanged);
    connect(bar, &QScrollBar::valueChanged, this, [this, bar](int value) {
        m_atBottom = value >= bar->maximum() - 4;
        m_fromBottom = bar->maximum() - value;
        loadMore();
        updateLatestButton();
        scheduleReadMark();
    });
    connect(m_model, &QAbstractItemModel::rowsAboutToBeInserted, this,
        [this](const QModelIndex &, int first) {
            m_prepended = m_prepended || (first == 0 && m_model->rowCount() > 0);
        });
    connect(m_model, &QAbstractItemModel::rowsInserted, this, &ConversationView::scheduleReadMark);

    connect(client, &Client::messageAdded, this, [this](const ChatMessage &m) {
        if (m.conv != conversation())
            return;
        m_lastSeq = std::max(m_lastSeq, m.seq);
        if (!m_live)
            return; // a window of older history: the newest join it when it reaches them
        m_model->add(m);
        if (m.outgoing)
            m_atBottom = true; // what we just sent is shown
    });
    connect(client, &Client::messageChanged, m_model, &MessageModel::update);
    connect(client, &Client::messageRemoved, this, [this](const QString &conv, const QString &cid) {
        if (conv.isEmpty() || conv == conversation())
            m_model->remove(cid);
    });
    connect(client, &Client::conversationChanged, this, [this](const ConversationInfo &info) {
        if (info.conv != conversation())
            return;
        m_model->setPeerReceipts(info.peerDelivered, info.peerRead);
        m_lastSeq = std::max(m_lastSeq, info.lastSeq);
    });
    connect(client, &Client::presenceChanged, this, [this](const QString &user) {
        if (user == m_peer)
            updatePeerLine();
    });
    connect(client, &Client::stateChanged, this, [this](client::ConnectionState state) {
        updatePeerLine(); // presence is only known while connected
        if (state == client::ConnectionState::Online && m_waitOnline) {
            m_waitOnline = false;
            loadMore();
        }
    });
}

QString ConversationView::conversation() const
{
    return m_model->conversation();
}

void ConversationView::open(const ConversationInfo &info, qint64 atSeq)
{
    if (info.conv == conversation() && m_body->isVisible()) {
        if (atSeq > 0)
            showMessage(atSeq);
        return;
    }
    m_peer = info.peer;
    m_floorSeq = info.floorSeq;
    m_lastSeq = info.lastSeq;
    m_readSent = info.readUpTo;
    m_model->reset(info.conv, info.peerDelivered, info.peerRead);
    m_composer->clear();
    m_composer->showProblem({});
    m_placeholder->hide();
    m_body->show();
    updatePeerLine();
    if (atSeq > 0) {
        showMessage(atSeq);
        return;
    }
    resetModel(true);
    loadLatest();
}

void ConversationView::closeConversation()
{
    ++m_generation;
    m_peer.clear();
    m_model->reset({});
    m_body->hide();
    m_placeholder->show();
}

void ConversationView::send(const QString &body)
{
    if (!m_client || m_peer.isEmpty())
        return;
    if (!m_live)
        showLatest(); // what is sent shows under the newest messages
    const ChatMessage message = m_client->send(m_peer, body);
    if (message.state == MessageState::Failed && message.cid.isEmpty()) {
        // Refused before queueing (e.g. not signed in): keep the text, say why.
        m_composer->showProblem(message.failure);
        return;
    }
    m_composer->clear();
    m_list->scrollToBottom();
}

void ConversationView::onRangeChanged(int, int max)
{
    QScrollBar *bar = m_list->verticalScrollBar();
    // Keep what the user is looking at in place: pinned to the bottom (live), at the
    // same distance from it when older messages were put in front, else where it is.
    if (m_live && m_atBottom)
        bar->setValue(max);
    else if (m_prepended)
        bar->setValue(max - m_fromBottom);
    m_prepended = false;
    m_fromBottom = max - bar->value();
    // A page too short to fill the screen leaves nothing to scroll: ask for the next.
    loadMore();
}

void ConversationView::updateLatestButton()
{
    const QScrollBar *bar = m_list->verticalScrollBar();
    const bool far = m_fromBottom > 2 * bar->pageStep();
    m_latest->setVisible(!conversation().isEmpty() && (!m_live || far));
    m_latest->adjustSize();
    const int margin = fontMetrics().height();
    const QRect area = m_list->viewport()->geometry();
    m_latest->move(
        area.right() - m_latest->width() - margin, area.bottom() - m_latest->height() - margin);
    m_latest->raise();
}

void ConversationView::scheduleReadMark()
{
    if (m_readMarkScheduled)
        return;
    m_readMarkScheduled = true;
    // After the view has laid the new rows out, so what is visible is known.
    QTimer::singleShot(0, this, [this] {
        m_readMarkScheduled = false;
        markVisibleRead();
    });
}

void ConversationView::markVisibleRead()
{
    // A window of older history is being browsed: the newest messages are not seen.
    if (!m_client || !m_live || conversation().isEmpty() || !isVisible()
        || !window()->isActiveWindow())
        return;
    const int rows = m_model->rowCount();
    const QRect viewport = m_list->viewport()->rect();
    // The newest incoming message at least partly on screen.
    for (int row = rows - 1; row >= 0; --row) {
        const QRect rect = m_list->visualRect(m_model->index(row, 0));
        if (rect.top() >= viewport.bottom())
            continue;
        if (rect.bottom() < viewport.top())
            break;
        const ChatMessage m = m_model->message(row);
        if (!m.outgoing && m.seq > 0) {
            if (m.seq > m_readSent) {
                m_readSent = m.seq;
                qCDebug(lcUi) << "read up to" << m.seq << "in" << m.conv;
                m_client->markRead(m.conv, m.seq);
            }
            return;
        }
    }
}

void ConversationView::updatePeerLine()
{
    m_peerName->setText(m_peer);
    const bool connected = m_client && m_client->state() == client::ConnectionState::Online;
    const PeerPresence presence = connected ? m_client->presence(m_peer) : PeerPresence {};
    if (presence.online)
        m_peerState->setText(tr("online"));
    else if (presence.lastSeen > 0)
        m_peerState->setText(
            tr("last seen %1")
                .arg(shortTimeText(QDateTime::fromMSecsSinceEpoch(presence.lastSeen))));
    else
        m_peerState->clear();
    m_typing->setText(presence.typing ? tr("%1 is typing…").arg(m_peer) : QString());
}

void ConversationView::showContextMenu(const QPoint &pos)
{
    const QModelIndex index = m_list->indexAt(pos);
    if (!index.isValid())
        return;
    m_list->setCurrentIndex(index);
    const ChatMessage m = m_model->message(index.row());
    QMenu menu(this);
    if (m.state == MessageState::Failed) {
        menu.addAction(tr("Retry"), this, [this] { actOnCurrent(true); });
        menu.addAction(tr("Delete"), this, [this] { actOnCurrent(false); });
    }
    if (menu.isEmpty())
        return;
    menu.exec(m_list->viewport()->mapToGlobal(pos));
}

// Retry or delete the failed message that has the keyboard focus.
void ConversationView::actOnCurrent(bool retry)
{
    const ChatMessage m = m_model->message(m_list->currentIndex().row());
    if (!m_client || m.state != MessageState::Failed || m.cid.isEmpty())
        return;
    if (retry)
        m_client->retry(m.cid);
    else
        m_client->forget(m.cid);
}

bool ConversationView::event(QEvent *event)
{
    // The window passes its activation on to every visible child.
    if (event->type() == QEvent::WindowActivate)
        scheduleReadMark();
    return QWidget::event(event);
}

bool ConversationView::eventFilter(QObject *watched, QEvent *event)
{
    if (watched == m_list && event->type() == QEvent::Resize)
        updateLatestButton();
    if (watched == m_list && event->type() == QEvent::KeyPress) {
        const auto *key = static_cast<QKeyEvent *>(event);
        if (key->key() == Qt::Key_Delete) {
            actOnCurrent(false);
            return true;
        }
        if (key->key() == Qt::Key_R && key->modifiers() == Qt::NoModifier) {
            actOnCurrent(true);
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

} // namespace parley::ui
