#include "newconversationdialog.h"

#include "client.h"
#include "codec.h"

#include <QBoxLayout>
#include <QDialogButtonBox>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QPushButton>
#include <QStandardItemModel>
#include <QTimer>

using namespace Qt::StringLiterals;

namespace parley::ui {

NewConversationDialog::NewConversationDialog(client::Client *client, QWidget *parent)
    : QDialog(parent)
    , m_client(client)
    , m_search(new QLineEdit(this))
    , m_results(new QListView(this))
    , m_model(new QStandardItemModel(this))
    , m_status(new QLabel(this))
    , m_buttons(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this))
    , m_delay(new QTimer(this))
{
    setWindowTitle(tr("New conversation"));
    m_search->setPlaceholderText(tr("Search people by name"));
    m_search->setAccessibleName(tr("Search people"));
    m_search->setClearButtonEnabled(true);
    m_results->setModel(m_model);
    m_results->setAccessibleName(tr("People found"));
    m_results->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_status->setWordWrap(true);
    m_status->setForegroundRole(QPalette::PlaceholderText);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Start conversation"));

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_search);
    layout->addWidget(m_results, 1);
    layout->addWidget(m_status);
    layout->addWidget(m_buttons);
    resize(360, 420);

    m_delay->setSingleShot(true);
    m_delay->setInterval(SearchDelayMs);
    connect(m_delay, &QTimer::timeout, this, &NewConversationDialog::search);
    connect(m_search, &QLineEdit::textChanged, this, [this] {
        m_delay->start();
        updateButtons();
    });
    connect(m_search, &QLineEdit::returnPressed, this, [this] {
        if (m_buttons->button(QDialogButtonBox::Ok)->isEnabled())
            accept();
    });
    connect(m_results->selectionModel(), &QItemSelectionModel::currentChanged, this,
        &NewConversationDialog::updateButtons);
    connect(m_results, &QListView::activated, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    updateButtons();
    search();
}

QString NewConversationDialog::chosenUser() const
{
    const QModelIndex current = m_results->currentIndex();
    if (current.isValid())
        return current.data(Qt::UserRole).toString();
    return protocol::normalizeUserName(m_search->text().trimmed());
}

void NewConversationDialog::search()
{
    if (!m_client)
        return;
    const int query = ++m_query;
    const QString prefix = protocol::normalizeUserName(m_search->text().trimmed());
    m_status->setText(tr("Searching…"));
    m_client->queryUsers(prefix, MaxResults, this,
        [this, query](const QList<protocol::UserEntry> &users, const QString &error) {
            if (query != m_query)
                return;
            m_model->clear();
            for (const protocol::UserEntry &entry : users) {
                if (entry.user == m_client->user())
                    continue;
                const bool online = entry.state == protocol::PresenceState::Online;
                auto *item
                    = new QStandardItem(online ? tr("%1 (online)").arg(entry.user) : entry.user);
                item->setData(entry.user, Qt::UserRole);
                m_model->appendRow(item);
            }
            if (!error.isEmpty())
                m_status->setText(tr("The directory cannot be searched right now (%1). "
                                     "You can still type an exact user name.")
                                      .arg(error));
            else if (m_model->rowCount() == 0)
                m_status->setText(tr("Nobody found with that name."));
            else
                m_status->clear();
            updateButtons();
        });
}

void NewConversationDialog::updateButtons()
{
    const QString user = chosenUser();
    const bool valid = protocol::isValidUserName(user) && m_client && user != m_client->user();
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(valid);
}

} // namespace parley::ui
