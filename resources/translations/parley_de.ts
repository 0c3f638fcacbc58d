<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
<context>
    <name>QApplication</name>
    <message>
        <location filename="../../ui/desktopmain.cpp" line="89"/>
        <location filename="../../ui/desktopmain.cpp" line="103"/>
        <source>Parley</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/desktopmain.cpp" line="46"/>
        <source>Parley, the desktop chat client.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/desktopmain.cpp" line="50"/>
        <source>Run as profile NAME: its own settings, message cache and saved sign-in, so several accounts can run side by side.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/desktopmain.cpp" line="54"/>
        <source>Offer this server address when signing in (e.g. 127.0.0.1:8443).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/desktopmain.cpp" line="57"/>
        <source>Offer this user name when signing in.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/desktopmain.cpp" line="105"/>
        <source>Parley is already running.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/desktopmain.cpp" line="106"/>
        <source>Parley is already running with the profile “%1”.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>parley::ui::AccountSession</name>
    <message>
        <location filename="../../ui/accountsession.cpp" line="52"/>
        <source>Sign in to Parley [%1]</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/accountsession.cpp" line="109"/>
        <source>Signing out…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/accountsession.cpp" line="137"/>
        <source>Signing in…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/accountsession.cpp" line="188"/>
        <source>unknown issuer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/accountsession.cpp" line="209"/>
        <source>Cannot reach the server at %1. Check the address and that the server is running.%2</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>parley::ui::Composer</name>
    <message>
        <location filename="../../ui/composer.cpp" line="19"/>
        <source>Send</source>
        <translation>Senden</translation>
    </message>
    <message>
        <location filename="../../ui/composer.cpp" line="23"/>
        <source>Write a message… (Enter sends, Shift+Enter adds a line)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/composer.cpp" line="24"/>
        <source>Message</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/composer.cpp" line="27"/>
        <source>Send message</source>
        <translation>Nachricht senden</translation>
    </message>
    <message>
        <location filename="../../ui/composer.cpp" line="32"/>
        <source>Characters left</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <location filename="../../ui/composer.cpp" line="107"/>
        <source>%n left</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../../ui/composer.cpp" line="107"/>
        <source>%n too many</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
</context>
<context>
    <name>parley::ui::ConversationDelegate</name>
    <message>
        <location filename="../../ui/conversationdelegate.cpp" line="41"/>
        <source>Yesterday</source>
        <translation>Gestern</translation>
    </message>
    <message>
        <location filename="../../ui/conversationdelegate.cpp" line="145"/>
        <source>typing…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>parley::ui::ConversationListModel</name>
    <message>
        <location filename="../../ui/conversationlistmodel.cpp" line="161"/>
        <source>online</source>
        <translation>online</translation>
    </message>
    <message numerus="yes">
        <location filename="../../ui/conversationlistmodel.cpp" line="163"/>
        <source>%n unread</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../ui/conversationlistmodel.cpp" line="171"/>
        <source>You: %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>parley::ui::ConversationView</name>
    <message>
        <location filename="../../ui/conversationview.cpp" line="47"/>
        <source>Messages</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/conversationview.cpp" line="66"/>
        <source>Typing indicator</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/conversationview.cpp" line="78"/>
        <source>↓ Latest</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/conversationview.cpp" line="79"/>
        <location filename="../../ui/conversationview.cpp" line="80"/>
        <source>Jump to the latest messages</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/conversationview.cpp" line="108"/>
        <source>Choose a conversation, or start a new one with Ctrl+N.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/conversationview.cpp" line="311"/>
        <source>online</source>
        <translation>online</translation>
    </message>
    <message>
        <location filename="../../ui/conversationview.cpp" line="314"/>
        <source>last seen %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/conversationview.cpp" line="318"/>
        <source>%1 is typing…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/conversationview.cpp" line="330"/>
        <source>Retry</source>
        <translation>Erneut versuchen</translation>
    </message>
    <message>
        <location filename="../../ui/conversationview.cpp" line="331"/>
        <source>Delete</source>
        <translation>Löschen</translation>
    </message>
    <message>
        <location filename="../../ui/conversationhistory.cpp" line="92"/>
        <source>That message is not on this device, and the server cannot be reached to load it.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>parley::ui::MainWindow</name>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="50"/>
        <source>Connection status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="51"/>
        <source>&amp;Reconnect now</source>
        <translation>Jetzt &amp;neu verbinden</translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="64"/>
        <location filename="../../ui/mainwindow.cpp" line="76"/>
        <source>Conversations</source>
        <translation>Unterhaltungen</translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="70"/>
        <source>New</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="72"/>
        <source>New conversation (%1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="74"/>
        <source>New conversation</source>
        <translation>Neue Unterhaltung</translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="115"/>
        <location filename="../../ui/mainwindow.cpp" line="347"/>
        <source>Parley</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="154"/>
        <source>&amp;Parley</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="156"/>
        <source>&amp;New conversation…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="158"/>
        <source>&amp;Settings…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="160"/>
        <source>&amp;Quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="161"/>
        <source>&amp;Go</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="162"/>
        <source>&amp;Previous conversation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="164"/>
        <source>&amp;Next conversation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="167"/>
        <source>&amp;Conversation list</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="169"/>
        <source>&amp;Message box</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="172"/>
        <source>&amp;Find in conversation…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="173"/>
        <source>&amp;Search all conversations…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="253"/>
        <source>Connecting…</source>
        <translation>Verbinde…</translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="258"/>
        <source>Offline: messages will be sent when you&apos;re back online.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <location filename="../../ui/mainwindow.cpp" line="295"/>
        <source>%n new messages</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="297"/>
        <source>From %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="347"/>
        <source>Parley — %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/mainwindow.cpp" line="352"/>
        <source>(%1) %2</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>parley::ui::MessageDelegate</name>
    <message>
        <location filename="../../ui/messagedelegate.cpp" line="67"/>
        <source>Today</source>
        <translation>Heute</translation>
    </message>
    <message>
        <location filename="../../ui/messagedelegate.cpp" line="69"/>
        <source>Yesterday</source>
        <translation>Gestern</translation>
    </message>
    <message>
        <location filename="../../ui/messagedelegate.cpp" line="77"/>
        <source>Queued</source>
        <translation>Wartet</translation>
    </message>
    <message>
        <location filename="../../ui/messagedelegate.cpp" line="79"/>
        <source>Sending…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/messagedelegate.cpp" line="81"/>
        <source>✓ Sent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/messagedelegate.cpp" line="83"/>
        <source>✓✓ Delivered</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/messagedelegate.cpp" line="85"/>
        <source>✓✓ Read</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/messagedelegate.cpp" line="87"/>
        <source>Not sent</source>
        <translation>Nicht gesendet</translation>
    </message>
    <message>
        <location filename="../../ui/messagedelegate.cpp" line="147"/>
        <location filename="../../ui/messagedelegate.cpp" line="163"/>
        <location filename="../../ui/messagedelegate.cpp" line="260"/>
        <source>Retry</source>
        <translation>Erneut versuchen</translation>
    </message>
    <message>
        <location filename="../../ui/messagedelegate.cpp" line="147"/>
        <location filename="../../ui/messagedelegate.cpp" line="165"/>
        <location filename="../../ui/messagedelegate.cpp" line="261"/>
        <source>Delete</source>
        <translation>Löschen</translation>
    </message>
</context>
<context>
    <name>parley::ui::MessageModel</name>
    <message>
        <location filename="../../ui/messagemodel.cpp" line="220"/>
        <source>You, %1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/messagemodel.cpp" line="221"/>
        <source>%1, %2: %3</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>parley::ui::NewConversationDialog</name>
    <message>
        <location filename="../../ui/newconversationdialog.cpp" line="30"/>
        <source>New conversation</source>
        <translation>Neue Unterhaltung</translation>
    </message>
    <message>
        <location filename="../../ui/newconversationdialog.cpp" line="31"/>
        <source>Search people by name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/newconversationdialog.cpp" line="32"/>
        <source>Search people</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/newconversationdialog.cpp" line="35"/>
        <source>People found</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/newconversationdialog.cpp" line="39"/>
        <source>Start conversation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/newconversationdialog.cpp" line="82"/>
        <source>Searching…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/newconversationdialog.cpp" line="93"/>
        <source>%1 (online)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/newconversationdialog.cpp" line="98"/>
        <source>The directory cannot be searched right now (%1). You can still type an exact user name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/newconversationdialog.cpp" line="102"/>
        <source>Nobody found with that name.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>parley::ui::SearchDelegate</name>
    <message>
        <location filename="../../ui/searchdelegate.cpp" line="131"/>
        <source>%1: </source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>parley::ui::SearchPanel</name>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="26"/>
        <source>Type a few letters to search your messages.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="29"/>
        <source>Searching…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="31"/>
        <source>Searching the server…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="33"/>
        <source>No messages on this device match (offline).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="34"/>
        <source>Showing results on this device only (offline).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="36"/>
        <source>No messages on this device match.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="37"/>
        <source>Showing results on this device only.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="38"/>
        <source>The server could not search: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="41"/>
        <source>No messages match.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <location filename="../../ui/searchpanel.cpp" line="43"/>
        <source>%n results so far; scroll down for more.</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="44"/>
        <source>One result.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <location filename="../../ui/searchpanel.cpp" line="45"/>
        <source>%n results.</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="60"/>
        <source>Load more results</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="64"/>
        <source>Search messages</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="68"/>
        <source>Search all conversations instead</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="71"/>
        <source>Search status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="74"/>
        <source>Search results</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="125"/>
        <source>Search all conversations (%1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="126"/>
        <source>Search in the conversation with %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="127"/>
        <source>Only with %1  ✕</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/searchpanel.cpp" line="129"/>
        <source>Only the conversation with %1: search all instead</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>parley::ui::SearchResultModel</name>
    <message>
        <location filename="../../ui/searchresultmodel.cpp" line="132"/>
        <source>You</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/searchresultmodel.cpp" line="139"/>
        <source>Conversation with %1, %2, %3: %4</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>parley::ui::SettingsDialog</name>
    <message>
        <location filename="../../ui/settingsdialog.cpp" line="21"/>
        <source>Show a &amp;notification for new messages while Parley is in the background</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/settingsdialog.cpp" line="24"/>
        <source>Sign &amp;out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/settingsdialog.cpp" line="27"/>
        <source>Settings</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <location filename="../../ui/settingsdialog.cpp" line="28"/>
        <source>Server address</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/settingsdialog.cpp" line="31"/>
        <source>Ends this device&apos;s session on the server and forgets it here</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/settingsdialog.cpp" line="33"/>
        <source>Account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/settingsdialog.cpp" line="35"/>
        <source>Signed in as:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/settingsdialog.cpp" line="36"/>
        <source>Profile:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/settingsdialog.cpp" line="36"/>
        <source>default</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/settingsdialog.cpp" line="37"/>
        <source>&amp;Server:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/settingsdialog.cpp" line="38"/>
        <source>Changing the server signs you out.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>parley::ui::SignInDialog</name>
    <message>
        <location filename="../../ui/signindialog.cpp" line="44"/>
        <source>&amp;Keep me signed in</source>
        <translation>&amp;Angemeldet bleiben</translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="50"/>
        <source>&amp;Trust this certificate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="51"/>
        <source>&amp;Sign in</source>
        <translation>&amp;Anmelden</translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="52"/>
        <source>&amp;Create account</source>
        <translation>Konto &amp;erstellen</translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="54"/>
        <source>Sign in to Parley</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="55"/>
        <source>chat.example.org or 127.0.0.1:8443</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="56"/>
        <source>Server address</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="57"/>
        <source>User name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="58"/>
        <source>letters, digits, “.”, “-” and “_”</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="60"/>
        <source>Password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="63"/>
        <source>Sign-in problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="78"/>
        <source>Welcome to Parley</source>
        <translation>Willkommen bei Parley</translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="83"/>
        <source>Sign in, or create an account on your Parley server.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="93"/>
        <source>Se&amp;rver:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="94"/>
        <source>&amp;User name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="95"/>
        <source>&amp;Password:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="143"/>
        <source>Parley cannot remember your sign-in on this computer: %1. You can still sign in; you will be asked for your password next time.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="175"/>
        <source>This computer does not trust the certificate of %1 (%2).
Trust it only if this fingerprint is the one your server&apos;s administrator gave you:
SHA-256 %3</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="192"/>
        <source>Enter the address of your Parley server.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="199"/>
        <location filename="../../ui/signindialog.cpp" line="210"/>
        <source>“%1” is not a server address.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="214"/>
        <source>Unencrypted connections are only allowed to this computer; use a wss:// address.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="229"/>
        <source>A user name is %1 to %2 characters: letters, digits, “.”, “-” or “_”.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="233"/>
        <source>Enter your password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="241"/>
        <source>Creating your account…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../ui/signindialog.cpp" line="241"/>
        <source>Signing in…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
