// What the QuickFIX client programs (qf_check, qf_load) share: the
// settings of an initiator session towards nodown's acceptor, the Logon's
// credentials, and a mailbox of the application messages each session
// receives, which a test waits on.
#pragma once

#include <quickfix/Application.h>
#include <quickfix/FileStore.h>
#include <quickfix/Message.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <string>

namespace qf {

struct Credentials {
    std::string account; // Username(553); empty: no credentials (--no-auth)
    std::string secret;  // Password(554)
};

// The secret in FILE, its trailing newline dropped.
inline std::string read_secret(const std::string &file)
{
    std::ifstream in(file);
    std::string secret;
    std::getline(in, secret);
    return secret;
}

// One [SESSION] block: FIX.4.4 from SENDER to TARGET at host:port.
inline std::string session_block(const std::string &sender, const std::string &target,
                                 const std::string &host, int port, int heartbeat_s)
{
    std::ostringstream s;
    s << "\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=" << sender
      << "\nTargetCompID=" << target << "\nSocketConnectHost=" << host
      << "\nSocketConnectPort=" << port << "\nHeartBtInt=" << heartbeat_s << "\n";
    return s.str();
}

// The [DEFAULT] block: an initiator that does not reconnect by itself
// (tests connect and disconnect on purpose), its store in STORE_DIR.
inline std::string default_block(const std::string &store_dir, bool reset_on_logon)
{
    std::ostringstream s;
    s << "[DEFAULT]\nConnectionType=initiator\nReconnectInterval=1\n"
      << "FileStorePath=" << store_dir << "\nStartTime=00:00:00\nEndTime=00:00:00\n"
      << "UseDataDictionary=N\nSocketNodelay=Y\nValidateUserDefinedFields=N\n"
      << "ResetOnLogon=" << (reset_on_logon ? "Y" : "N") << "\n";
    return s.str();
}

using Clock = std::chrono::steady_clock;

// The application side: adds the credentials to each Logon, keeps every
// message received per session (admin ones too: tests look for Logout,
// ResendRequest, Reject), and calls an optional hook on each application
// message (qf_load counts acknowledgements there, without keeping them).
class App : public FIX::Application {
  public:
    std::map<std::string, Credentials> credentials; // by SenderCompID
    std::function<void(const FIX::Message &, const FIX::SessionID &)> on_app;
    bool keep = true;

    void onCreate(const FIX::SessionID &) override {}
    void onLogon(const FIX::SessionID &id) override
    {
        std::lock_guard<std::mutex> lock(mutex_);
        logged_on_[id.toString()] = true;
        changed_.notify_all();
    }
    void onLogout(const FIX::SessionID &id) override
    {
        std::lock_guard<std::mutex> lock(mutex_);
        logged_on_[id.toString()] = false;
        changed_.notify_all();
    }
    void toAdmin(FIX::Message &message, const FIX::SessionID &id) override
    {
        FIX::MsgType type;
        message.getHeader().getField(type);
        if (type != FIX::MsgType_Logon)
            return;
        auto it = credentials.find(id.getSenderCompID().getValue());
        if (it == credentials.end() || it->second.account.empty())
            return;
        message.setField(FIX::Username(it->second.account));
        message.setField(FIX::Password(it->second.secret));
    }
    void toApp(FIX::Message &, const FIX::SessionID &) throw(FIX::DoNotSend) override {}
    void fromAdmin(const FIX::Message &message, const FIX::SessionID &id) throw(
        FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue,
        FIX::RejectLogon) override
    {
        store(message, id);
    }
    void fromApp(const FIX::Message &message, const FIX::SessionID &id) throw(
        FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue,
        FIX::UnsupportedMessageType) override
    {
        if (on_app)
            on_app(message, id);
        store(message, id);
    }

    bool logged_on(const FIX::SessionID &id)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return logged_on_[id.toString()];
    }

    // Waits up to TIMEOUT_MS for the session's state to be WANT.
    bool wait_logon(const FIX::SessionID &id, bool want, int timeout_ms)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                 [&] { return logged_on_[id.toString()] == want; });
    }

    // The first message received by session ID that MATCH accepts, taken
    // out of its mailbox, within TIMEOUT_MS; false if none came.
    bool take(const FIX::SessionID &id, const std::function<bool(const FIX::Message &)> &match,
              int timeout_ms, FIX::Message *out)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
        for (;;) {
            auto &box = mailbox_[id.toString()];
            for (auto it = box.begin(); it != box.end(); ++it) {
                if (match(*it)) {
                    if (out)
                        *out = *it;
                    box.erase(it);
                    return true;
                }
            }
            if (changed_.wait_until(lock, deadline) == std::cv_status::timeout)
                return false;
        }
    }

    void clear(const FIX::SessionID &id)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        mailbox_[id.toString()].clear();
    }

  private:
    void store(const FIX::Message &message, const FIX::SessionID &id)
    {
        if (!keep)
            return;
        std::lock_guard<std::mutex> lock(mutex_);
        mailbox_[id.toString()].push_back(message);
        changed_.notify_all();
    }

    std::mutex mutex_;
    std::condition_variable changed_;
    std::map<std::string, std::deque<FIX::Message>> mailbox_;
    std::map<std::string, bool> logged_on_;
};

// The value of TAG in MESSAGE's body or header, "" if absent.
inline std::string field(const FIX::Message &message, int tag)
{
    if (message.isSetField(tag))
        return message.getField(tag);
    if (message.getHeader().isSetField(tag))
        return message.getHeader().getField(tag);
    return "";
}

inline std::string msg_type(const FIX::Message &message)
{
    return message.getHeader().getField(FIX::FIELD::MsgType);
}

} // namespace qf
