// The search box at the top of the conversation list and, while searching, the hits in
// place of the list: results as the user types (client::Search debounces and merges
// the cache's hits with the server's), a status line, more pages when the list is
// scrolled to its end, and the keyboard: Up/Down/PgUp/PgDown in the box move through
// the hits, Enter opens one, Esc closes the search. A search is either in every
// conversation or in one (Ctrl+F), shown by a button that widens it again.
#pragma once

#include "client.h"
#include "search.h"

#include <QPointer>
#include <QWidget>

class QLabel;
class QLineEdit;
class QListView;
class QModelIndex;
class QPushButton;
class QToolButton;

namespace parley::ui {

class SearchResultModel;

// The status line under the search box for a query (empty: none typed yet).
QString searchStatusText(
    bool hasQuery, client::Search::ServerState state, int hits, bool more, const QString &error);

class SearchPanel : public QWidget
{
    Q_OBJECT
public:
    explicit SearchPanel(client::Client *client, QWidget *parent = nullptr);

    // Starts a search (the box gets the focus, its text selected): in conv with peer,
    // or in every conversation when conv is empty.
    void start(const QString &conv = {}, const QString &peer = {});
    // Ends it: the box is emptied and the hits are hidden.
    void stop();
    bool isActive() const { return m_active; }
    QString scope() const { return m_conv; } // the conversation searched; empty: all

    QLineEdit *field() const { return m_field; }
    QListView *resultList() const { return m_list; }
    SearchResultModel *results() const { return m_results; }
    QLabel *statusLabel() const { return m_status; }
    QToolButton *scopeButton() const { return m_scopeButton; }
    QPushButton *moreButton() const { return m_more; }
    client::Search *search() const { return m_search; }

Q_SIGNALS:
    void hitActivated(const parley::client::SearchHit &hit);
    // The hits are shown (a query or a scope) or hidden again.
    void activeChanged(bool active);
    // Esc: the search is over; the window gives the focus back.
    void closed();

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void setScope(const QString &conv, const QString &peer);
    void runQuery();
    void setActive(bool active);
    void updateStatus();
    void moveCurrent(int delta);
    void activate(const QModelIndex &index);

    QPointer<client::Client> m_client;
    client::Search *m_search = nullptr;
    SearchResultModel *m_results = nullptr;
    QLineEdit *m_field = nullptr;
    QWidget *m_area = nullptr; // everything below the box, shown while active
    QToolButton *m_scopeButton = nullptr;
    QLabel *m_status = nullptr;
    QListView *m_list = nullptr;
    QPushButton *m_more = nullptr;
    QString m_conv;
    QString m_peer;
    bool m_active = false;
};

} // namespace parley::ui
