#include "composer.h"

#include "codec.h"

#include <QBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTextBlock>

using namespace Qt::StringLiterals;

namespace parley::ui {

Composer::Composer(QWidget *parent)
    : QWidget(parent)
    , m_edit(new QPlainTextEdit(this))
    , m_send(new QPushButton(tr("Send"), this))
    , m_counter(new QLabel(this))
    , m_problem(new QLabel(this))
{
    m_edit->setPlaceholderText(tr("Write a message… (Enter sends, Shift+Enter adds a line)"));
    m_edit->setAccessibleName(tr("Message"));
    m_edit->setTabChangesFocus(true);
    m_edit->installEventFilter(this);
    m_send->setAccessibleName(tr("Send message"));
    m_send->setEnabled(false);
    m_send->setDefault(false);
    m_send->setAutoDefault(false);
    m_counter->setVisible(false);
    m_counter->setAccessibleName(tr("Characters left"));
    m_problem->setVisible(false);
    m_problem->setWordWrap(true);
    m_problem->setStyleSheet(u"color: #c0392b;"_s);

    auto *row = new QHBoxLayout;
    row->addWidget(m_edit, 1);
    auto *side = new QVBoxLayout;
    side->addStretch(1);
    side->addWidget(m_counter, 0, Qt::AlignRight);
    side->addWidget(m_send);
    row->addLayout(side);
    auto *column = new QVBoxLayout(this);
    column->setContentsMargins(0, 0, 0, 0);
    column->addWidget(m_problem);
    column->addLayout(row);

    connect(m_edit, &QPlainTextEdit::textChanged, this, &Composer::onTextChanged);
    connect(m_send, &QPushButton::clicked, this, &Composer::submit);
    onTextChanged();
}

QString Composer::text() const
{
    return m_edit->toPlainText();
}

void Composer::clear()
{
    m_edit->clear();
}

void Composer::showProblem(const QString &problem)
{
    m_problem->setText(problem);
    m_problem->setVisible(!problem.isEmpty());
}

bool Composer::eventFilter(QObject *watched, QEvent *event)
{
    // Ctrl+K deletes to the end of the line in text boxes on some platforms; here it
    // is the window's "search all conversations".
    if (watched == m_edit && event->type() == QEvent::ShortcutOverride
        && static_cast<QKeyEvent *>(event)->keyCombination()
            == QKeyCombination(Qt::ControlModifier, Qt::Key_K)) {
        event->ignore();
        return true;
    }
    if (watched == m_edit && event->type() == QEvent::KeyPress) {
        const auto *key = static_cast<QKeyEvent *>(event);
        const bool enter = key->key() == Qt::Key_Return || key->key() == Qt::Key_Enter;
        if (enter && !(key->modifiers() & Qt::ShiftModifier)) {
            submit();
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

void Composer::submit()
{
    const QString body = text();
    if (body.trimmed().isEmpty() || !m_send->isEnabled())
        return;
    showProblem({});
    Q_EMIT submitted(body);
}

void Composer::onTextChanged()
{
    const QString body = text();
    const qsizetype count = protocol::codePointCount(body);
    const qsizetype left = protocol::MaxBodyChars - count;
    m_counter->setVisible(count >= CounterFrom);
    m_counter->setText(
        left >= 0 ? tr("%n left", nullptr, int(left)) : tr("%n too many", nullptr, int(-left)));
    m_counter->setStyleSheet(left < 0 ? u"color: #c0392b; font-weight: bold;"_s : QString());
    m_send->setEnabled(!body.trimmed().isEmpty() && left >= 0);
    // Grow with the text, from one line up to six.
    const QFontMetrics fm(m_edit->font());
    const int lines = std::clamp(int(m_edit->document()->size().height()), 1, 6);
    const int frame = 2 * m_edit->frameWidth() + int(m_edit->document()->documentMargin() * 2);
    m_edit->setFixedHeight(lines * fm.lineSpacing() + frame + 2);
    m_edit->setVerticalScrollBarPolicy(lines < 6 ? Qt::ScrollBarAlwaysOff : Qt::ScrollBarAsNeeded);
    Q_EMIT composingChanged(!body.isEmpty());
}

} // namespace parley::ui
