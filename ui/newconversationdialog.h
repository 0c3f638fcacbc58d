// "New conversation": searches the server's users directory as the user types and
// returns the chosen name. Offline, an exact user name can still be typed.
#pragma once

#include <QDialog>
#include <QPointer>

class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QListView;
class QStandardItemModel;
class QTimer;

namespace parley::client {
class Client;
}

namespace parley::ui {

class NewConversationDialog : public QDialog
{
    Q_OBJECT
public:
    explicit NewConversationDialog(client::Client *client, QWidget *parent = nullptr);

    QString chosenUser() const; // the selected result, else the typed name
    QLineEdit *searchField() const { return m_search; }
    QListView *results() const { return m_results; }
    QStandardItemModel *resultsModel() const { return m_model; }

    static constexpr int SearchDelayMs = 250; // typing pause before asking the server
    static constexpr int MaxResults = 20;

private:
    void search();
    void updateButtons();

    QPointer<client::Client> m_client;
    QLineEdit *m_search = nullptr;
    QListView *m_results = nullptr;
    QStandardItemModel *m_model = nullptr;
    QLabel *m_status = nullptr;
    QDialogButtonBox *m_buttons = nullptr;
    QTimer *m_delay = nullptr;
    int m_query = 0; // answers to an older query are dropped
};

} // namespace parley::ui
