// Where a message is written: Enter sends, Shift+Enter starts a new line, the box grows
// with the text up to a few lines, and a counter appears near the 4,000-character
// limit (red and the Send button disabled past it).
#pragma once

#include <QWidget>

class QLabel;
class QPlainTextEdit;
class QPushButton;

namespace parley::ui {

class Composer : public QWidget
{
    Q_OBJECT
public:
    explicit Composer(QWidget *parent = nullptr);

    QString text() const;
    void clear();
    QPlainTextEdit *editor() const { return m_edit; }
    QPushButton *sendButton() const { return m_send; }
    QLabel *counter() const { return m_counter; }
    // A problem with the last send shown under the box (empty: hide it).
    void showProblem(const QString &problem);

    static constexpr int CounterFrom = 3500; // characters typed before the counter shows

Q_SIGNALS:
    void submitted(const QString &text);
    void composingChanged(bool composing); // text present or not (for typing notifications)

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void submit();
    void onTextChanged();

    QPlainTextEdit *m_edit = nullptr;
    QPushButton *m_send = nullptr;
    QLabel *m_counter = nullptr;
    QLabel *m_problem = nullptr;
};

} // namespace parley::ui
