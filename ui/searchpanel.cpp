#include "searchpanel.h"

#include "searchdelegate.h"
#include "searchresultmodel.h"
#include "searchtext.h"

#include <QBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QPushButton>
#include <QToolButton>

using namespace Qt::StringLiterals;
using parley::client::Client;
using parley::client::Search;
using ServerState = parley::client::Search::ServerState;

namespace parley::ui {

QString searchStatusText(
    bool hasQuery, ServerState state, int hits, bool more, const QString &error)
{
    if (!hasQuery)
        return SearchPanel::tr("Type a few letters to search your messages.");
    switch (state) {
    case ServerState::Idle:
        return SearchPanel::tr("Searching…");
    case ServerState::Searching:
        return SearchPanel::tr("Searching the server…");
    case ServerState::Offline:
        return hits == 0 ? SearchPanel::tr("No messages on this device match (offline).")
                         : SearchPanel::tr("Showing results on this device only (offline).");
    case ServerState::Failed:
        return (hits == 0 ? SearchPanel::tr("No messages on this device match.")
                          : SearchPanel::tr("Showing results on this device only."))
            + u' ' + SearchPanel::tr("The server could not search: %1").arg(error);
    case ServerState::Done:
        if (hits == 0)
            return SearchPanel::tr("No messages match.");
        if (more)
            return SearchPanel::tr("%n results so far; scroll down for more.", nullptr, hits);
        return hits == 1 ? SearchPanel::tr("One result.")
                         : SearchPanel::tr("%n results.", nullptr, hits);
    }
    return {};
}

SearchPanel::SearchPanel(Client *client, QWidget *parent)
    : QWidget(parent)
    , m_client(client)
    , m_search(new Search(client, this))
    , m_results(new SearchResultModel(this))
    , m_field(new QLineEdit(this))
    , m_area(new QWidget(this))
    , m_scopeButton(new QToolButton(m_area))
    , m_status(new QLabel(m_area))
    , m_list(new QListView(m_area))
    , m_more(new QPushButton(tr("Load more results"), m_area))
{
    m_results->setSearch(m_search);
    m_field->setClearButtonEnabled(true);
    m_field->setAccessibleName(tr("Search messages"));
    m_field->installEventFilter(this);

    m_scopeButton->setAutoRaise(true);
    m_scopeButton->setToolTip(tr("Search all conversations instead"));
    m_status->setWordWrap(true);
    m_status->setForegroundRole(QPalette::PlaceholderText);
    m_status->setAccessibleName(tr("Search status"));
    m_list->setModel(m_results);
    m_list->setItemDelegate(new SearchDelegate(m_list));
    m_list->setAccessibleName(tr("Search results"));
    m_list->setUniformItemSizes(true); // every row is two lines
    m_list->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_list->setFrameShape(QFrame::NoFrame);
    m_list->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_list->installEventFilter(this);

    auto *area = new QVBoxLayout(m_area);
    area->setContentsMargins(0, 0, 0, 0);
    area->addWidget(m_scopeButton, 0, Qt::AlignLeft);
    area->addWidget(m_status);
    area->addWidget(m_list, 1);
    area->addWidget(m_more);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_field);
    layout->addWidget(m_area, 1);
    m_area->hide();
    m_scopeButton->hide();
    m_more->hide();
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Maximum);
    setScope({}, {});

    connect(m_field, &QLineEdit::textChanged, this, &SearchPanel::runQuery);
    connect(m_scopeButton, &QToolButton::clicked, this, [this] { start({}, {}); });
    connect(m_more, &QPushButton::clicked, this, [this] { m_results->fetchMore({}); });
    connect(m_list, &QListView::activated, this, &SearchPanel::activate);
    connect(m_list, &QListView::clicked, this, &SearchPanel::activate);
    connect(m_search, &Search::serverStateChanged, this, &SearchPanel::updateStatus);
    connect(m_search, &Search::hitsChanged, this, [this] {
        // The first hit is ready for Enter; a page appended keeps the user's choice.
        if (!m_list->currentIndex().isValid() && m_results->rowCount() > 0)
            m_list->setCurrentIndex(m_results->index(0));
        updateStatus();
    });
}

void SearchPanel::start(const QString &conv, const QString &peer)
{
    setScope(conv, peer);
    m_field->setFocus(Qt::ShortcutFocusReason);
    m_field->selectAll();
    runQuery();
}

void SearchPanel::setScope(const QString &conv, const QString &peer)
{
    m_conv = conv;
    m_peer = peer;
    const QString keys = QKeySequence(u"Ctrl+K"_s).toString(QKeySequence::NativeText);
    m_field->setPlaceholderText(conv.isEmpty()
            ? tr("Search all conversations (%1)").arg(keys)
            : tr("Search in the conversation with %1").arg(peer));
    m_scopeButton->setText(tr("Only with %1  ✕").arg(peer));
    m_scopeButton->setAccessibleName(
        tr("Only the conversation with %1: search all instead").arg(peer));
    m_scopeButton->setVisible(!conv.isEmpty());
}

void SearchPanel::stop()
{
    m_conv.clear();
    m_peer.clear();
    m_scopeButton->hide();
    m_field->clear();
    runQuery();
}

void SearchPanel::runQuery()
{
    const QString text = m_field->text();
    const bool hasQuery = !protocol::search::queryWords(text).isEmpty();
    if (hasQuery) {
        if (m_client)
            m_results->setUser(m_client->user());
        m_search->setQuery(text, m_conv);
    } else {
        m_search->clear();
        m_results->setHits({}, {});
    }
    setActive(!text.trimmed().isEmpty() || !m_conv.isEmpty());
    updateStatus();
}

void SearchPanel::setActive(bool active)
{
    if (active == m_active)
        return;
    m_active = active;
    m_area->setVisible(active);
    // Inactive, only the box: the conversation list below takes the height.
    setSizePolicy(QSizePolicy::Preferred, active ? QSizePolicy::Expanding : QSizePolicy::Maximum);
    Q_EMIT activeChanged(active);
}

void SearchPanel::updateStatus()
{
    const bool hasQuery = !protocol::search::queryWords(m_field->text()).isEmpty();
    const bool more = m_results->canFetchMore({});
    m_status->setText(searchStatusText(hasQuery, m_search->serverState(), m_results->rowCount(),
        m_search->canFetchMore(), m_search->serverError()));
    m_more->setVisible(hasQuery && more);
}

void SearchPanel::moveCurrent(int delta)
{
    const int rows = m_results->rowCount();
    if (rows == 0)
        return;
    const int current = m_list->currentIndex().row();
    const int row
        = std::clamp(current < 0 ? (delta > 0 ? 0 : rows - 1) : current + delta, 0, rows - 1);
    const QModelIndex index = m_results->index(row);
    m_list->setCurrentIndex(index);
    m_list->scrollTo(index);
    // At the end of what is loaded, like scrolling there: the server's next page.
    if (row == rows - 1)
        m_results->fetchMore({});
}

void SearchPanel::activate(const QModelIndex &index)
{
    if (index.isValid())
        Q_EMIT hitActivated(m_results->hit(index.row()));
}

bool SearchPanel::eventFilter(QObject *watched, QEvent *event)
{
    if (event->type() != QEvent::KeyPress)
        return QWidget::eventFilter(watched, event);
    const auto *key = static_cast<QKeyEvent *>(event);
    if (key->key() == Qt::Key_Escape) {
        stop();
        Q_EMIT closed();
        return true;
    }
    if (watched != m_field)
        return QWidget::eventFilter(watched, event);
    const int page
        = std::max(1, m_list->viewport()->height() / std::max(1, m_list->sizeHintForRow(0)));
    switch (key->key()) {
    case Qt::Key_Down:
        moveCurrent(1);
        return true;
    case Qt::Key_Up:
        moveCurrent(-1);
        return true;
    case Qt::Key_PageDown:
        moveCurrent(page);
        return true;
    case Qt::Key_PageUp:
        moveCurrent(-page);
        return true;
    case Qt::Key_Return:
    case Qt::Key_Enter: {
        const QModelIndex current = m_list->currentIndex();
        activate(current.isValid() ? current : m_results->index(0));
        return true;
    }
    default:
        return QWidget::eventFilter(watched, event);
    }
}

} // namespace parley::ui
