// ConversationView's loading: the newest page, pages before and after what is shown
// (Client::loadAround), and the window of history around a message opened from a
// search, which turns live when it reaches the newest messages.
#include "conversationview.h"
#include "logging.h"
#include "messagedelegate.h"
#include "messagemodel.h"

#include <QLabel>
#include <QListView>
#include <QScrollBar>
#include <QTimer>
#include <QToolButton>

#include <algorithm>

using parley::client::ChatMessage;

namespace parley::ui {

namespace {

// The messages of page beyond edge (older: below it, else above it), ascending. When
// the page may be incomplete (offline: only what the cache had), only the run that
// continues from edge without a hole: a hole may be history never downloaded. Gap
// entries (seqs the server skipped) continue a run but are not returned.
QList<ChatMessage> beyond(const QList<ChatMessage> &page, qint64 edge, bool older, bool complete)
{
    QList<ChatMessage> out;
    for (const ChatMessage &m : page) {
        if (m.seq > 0 && (older ? m.seq < edge : m.seq > edge))
            out.append(m);
    }
    std::sort(out.begin(), out.end(),
        [](const ChatMessage &a, const ChatMessage &b) { return a.seq < b.seq; });
    if (!complete && older) {
        qsizetype first = out.size();
        for (qint64 expect = edge - 1; first > 0 && out.at(first - 1).seq == expect; --expect)
            --first;
        out = out.mid(first);
    } else if (!complete) {
        qsizetype end = 0;
        for (qint64 expect = edge + 1; end < out.size() && out.at(end).seq == expect; ++expect)
            ++end;
        out = out.first(end);
    }
    out.removeIf([](const ChatMessage &m) { return m.gap; });
    return out;
}

int storedCount(const QList<ChatMessage> &page)
{
    return int(
        std::count_if(page.cbegin(), page.cend(), [](const ChatMessage &m) { return m.seq > 0; }));
}

} // namespace

void ConversationView::showLatest()
{
    if (conversation().isEmpty())
        return;
    resetModel(true);
    loadLatest();
}

void ConversationView::showMessage(qint64 seq)
{
    if (!m_client || conversation().isEmpty() || seq <= 0)
        return;
    const int row = m_model->rowOfSeq(seq);
    if (row >= 0) {
        m_notice->hide();
        focusRow(row);
        return;
    }
    // Not shown: a window of history around it instead of everything in between, which
    // could be years of messages.
    resetModel(false);
    m_loadingOlder = true;
    m_loadingNewer = true;
    const int generation = m_generation;
    m_client->loadAround(
        conversation(), seq, Radius, this, [this, generation, seq](const QList<ChatMessage> &page) {
            if (generation != m_generation)
                return;
            m_loadingOlder = false;
            m_loadingNewer = false;
            m_model->addPage(page);
            const int row = m_model->rowOfSeq(seq);
            if (row < 0) {
                qCDebug(lcUi) << "message" << seq << "of" << conversation() << "not available";
                showLatest();
                m_notice->setText(tr("That message is not on this device, and the server "
                                     "cannot be reached to load it."));
                m_notice->show();
                return;
            }
            focusRow(row);
            if (m_model->newestSeq() >= m_lastSeq)
                goLive();
        });
}

void ConversationView::resetModel(bool live)
{
    ++m_generation;
    m_live = live;
    m_atStart = false;
    m_atBottom = live;
    m_prepended = false;
    m_fromBottom = 0;
    m_loadingOlder = false;
    m_loadingNewer = false;
    m_waitOnline = false;
    m_model->reset(conversation(), m_model->peerDelivered(), m_model->peerRead());
    m_delegate->clearSizeCache();
    m_highlightTimer->stop();
    m_notice->hide();
    updateLatestButton();
}

// The newest page: from the cache, with our messages not yet acknowledged last.
void ConversationView::loadLatest()
{
    if (!m_client)
        return;
    m_loadingOlder = true;
    const int generation = m_generation;
    m_client->loadMessages(
        conversation(), 0, PageSize, this, [this, generation](const QList<ChatMessage> &page) {
            if (generation != m_generation)
                return;
            m_model->addPage(page);
            m_atStart = storedCount(page) < PageSize && m_floorSeq <= 0;
            m_loadingOlder = false;
            m_list->scrollToBottom();
            scheduleReadMark();
        });
}

bool ConversationView::isOnline() const
{
    return m_client && m_client->state() == client::ConnectionState::Online;
}

// Pages beyond either end come from Client::loadAround: the cache, and from the server
// what it lacks (history never downloaded, or the hole left by an earlier jump).
void ConversationView::loadOlder()
{
    if (!m_client || m_loadingOlder || m_atStart || m_waitOnline || conversation().isEmpty())
        return;
    const qint64 oldest = m_model->oldestSeq();
    if (oldest <= 1) {
        m_atStart = oldest == 1;
        return;
    }
    m_loadingOlder = true;
    const int generation = m_generation;
    const bool online = isOnline();
    m_client->loadAround(conversation(), std::max<qint64>(1, oldest - Radius), Radius, this,
        [this, generation, oldest, online](const QList<ChatMessage> &page) {
            if (generation != m_generation)
                return;
            m_loadingOlder = false;
            const bool complete = online && isOnline();
            const QList<ChatMessage> older = beyond(page, oldest, true, complete);
            if (older.isEmpty()) {
                m_atStart = complete;
                m_waitOnline = !complete;
                return;
            }
            m_model->addPage(older);
        });
}

void ConversationView::loadNewer()
{
    if (!m_client || m_live || m_loadingNewer || m_waitOnline || conversation().isEmpty())
        return;
    const qint64 newest = m_model->newestSeq();
    if (newest >= m_lastSeq) {
        goLive();
        return;
    }
    m_loadingNewer = true;
    const int generation = m_generation;
    const bool online = isOnline();
    m_client->loadAround(conversation(), newest + Radius, Radius, this,
        [this, generation, newest, online](const QList<ChatMessage> &page) {
            if (generation != m_generation)
                return;
            m_loadingNewer = false;
            const bool complete = online && isOnline();
            const QList<ChatMessage> newer = beyond(page, newest, false, complete);
            if (newer.isEmpty()) {
                if (complete)
                    goLive(); // nothing newer: the window is at the end
                else
                    m_waitOnline = true;
                return;
            }
            m_model->addPage(newer);
            if (m_model->newestSeq() >= m_lastSeq)
                goLive();
        });
}

// The window has reached the newest messages: add the newest page (with our messages
// not yet acknowledged) and take live messages from now on.
void ConversationView::goLive()
{
    if (!m_client || m_live || m_loadingNewer)
        return;
    m_loadingNewer = true;
    const qint64 newest = m_model->newestSeq();
    const int generation = m_generation;
    m_client->loadMessages(conversation(), 0, PageSize, this,
        [this, generation, newest](const QList<ChatMessage> &page) {
            if (generation != m_generation)
                return;
            m_loadingNewer = false;
            qint64 pageOldest = 0;
            qint64 pageNewest = 0;
            for (const ChatMessage &m : page) {
                if (m.seq > 0) {
                    pageOldest = pageOldest ? std::min(pageOldest, m.seq) : m.seq;
                    pageNewest = std::max(pageNewest, m.seq);
                }
            }
            // The cache's pages hold gap entries too, so this is exact: more than a
            // page arrived meanwhile, keep going page by page.
            if (pageOldest > newest + 1) {
                m_lastSeq = std::max(m_lastSeq, pageNewest);
                loadMore();
                return;
            }
            m_live = true;
            m_atBottom = false; // the reader stays where they are
            m_model->addPage(page);
            updateLatestButton();
            scheduleReadMark();
        });
}

void ConversationView::loadMore()
{
    if (conversation().isEmpty() || !m_body->isVisible())
        return;
    const QScrollBar *bar = m_list->verticalScrollBar();
    if (bar->value() <= bar->pageStep() / 2)
        loadOlder();
    if (!m_live && bar->value() >= bar->maximum() - bar->pageStep() / 2)
        loadNewer();
}

void ConversationView::focusRow(int row)
{
    const QModelIndex index = m_model->index(row);
    m_list->scrollTo(index, QAbstractItemView::PositionAtCenter);
    m_list->setCurrentIndex(index);
    m_model->setHighlightedSeq(m_model->message(row).seq);
    m_highlightTimer->start();
}

} // namespace parley::ui
