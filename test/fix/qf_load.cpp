// qf_load: a FIX load driver made of QuickFIX initiators, for `nodown bench
// fix` (quickfix_orders_per_s) and for QuickFIX's own ordermatch example
// as the comparison (docs/fix_testing.md, docs/benchmarks.md).
//
//   qf_load --host H --port P --account ID --secret-file F --sessions N
//           --seconds S --json [--target-comp NODOWN] [--no-auth]
//           [--instrument I] [--window W] [--max-orders M] [--price P]
//           [--begin-string FIX.4.4]
//
// N sessions (SenderCompIDs QF1..QFN, one thread each) pipeline limit Day
// NewOrderSingles, up to W unanswered each, alternating buy and sell at one
// price so that they cross and trades happen; an order counts when its
// first ExecutionReport arrives, its latency from the send. Bounded by S
// seconds and M orders in all. --begin-string FIX.4.2 is for QuickFIX's
// ordermatch example, which handles FIX 4.2 orders only. Prints one JSON line:
// {"orders_per_s":..,"ack_p50_us":..,"ack_p99_us":..,"orders":..,...}.
#include "qf_common.h"

#include <quickfix/ThreadedSocketInitiator.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

namespace {

struct Args {
  std::string host = "127.0.0.1", target = "NODOWN", instrument = "1",
              begin = "FIX.4.4";
  int port = 0, sessions = 4, window = 64;
  double seconds = 5;
  long max_orders = 2000000, price = 1000;
  qf::Credentials cred;
  bool json = false, auth = true;
};

// One session's orders: the send time of each (by ClOrdID, its index) and
// the latencies of those answered, both allocated before the run.
struct Flow {
  FIX::SessionID id;
  std::vector<qf::Clock::time_point> sent;
  std::vector<unsigned char> answered;
  std::vector<uint32_t> latency_us;
  std::atomic<long> count_sent{0}, count_answered{0}, rejected{0};
  qf::Clock::time_point last_answer{};
};

int usage() {
  std::fprintf(
      stderr,
      "usage: qf_load --host H --port P --account ID --secret-file F "
      "--sessions N\n"
      "               --seconds S --json [--target-comp NODOWN] [--no-auth]\n"
      "               [--instrument I] [--window W] [--max-orders M] [--price "
      "P]\n"
      "               [--begin-string FIX.4.4]\n");
  return 2;
}

bool parse(int argc, char **argv, Args *a) {
  for (int i = 1; i < argc; i++) {
    std::string name = argv[i];
    if (name == "--json") {
      a->json = true;
      continue;
    }
    if (name == "--no-auth") {
      a->auth = false;
      continue;
    }
    if (i + 1 >= argc)
      return false;
    std::string value = argv[++i];
    if (name == "--host")
      a->host = value;
    else if (name == "--port")
      a->port = std::atoi(value.c_str());
    else if (name == "--account")
      a->cred.account = value;
    else if (name == "--secret-file")
      a->cred.secret = qf::read_secret(value);
    else if (name == "--sessions")
      a->sessions = std::atoi(value.c_str());
    else if (name == "--seconds")
      a->seconds = std::atof(value.c_str());
    else if (name == "--target-comp")
      a->target = value;
    else if (name == "--instrument")
      a->instrument = value;
    else if (name == "--window")
      a->window = std::atoi(value.c_str());
    else if (name == "--max-orders")
      a->max_orders = std::atol(value.c_str());
    else if (name == "--price")
      a->price = std::atol(value.c_str());
    else if (name == "--begin-string")
      a->begin = value;
    else
      return false;
  }
  return a->port > 0 && a->sessions >= 1 && a->sessions <= 256 &&
         a->window >= 1 && a->window <= 100000 && a->seconds > 0 &&
         a->seconds <= 600 && a->max_orders >= 1 && a->max_orders <= 50000000 &&
         (!a->auth || !a->cred.account.empty());
}

FIX::Message order(const Args &a, long index) {
  FIX::Message m;
  m.getHeader().setField(FIX::MsgType(FIX::MsgType_NewOrderSingle));
  m.setField(FIX::ClOrdID(std::to_string(index)));
  m.setField(FIX::Symbol(a.instrument));
  m.setField(FIX::Side(index % 2 == 0 ? FIX::Side_BUY : FIX::Side_SELL));
  m.setField(FIX::TransactTime());
  m.setField(FIX::OrdType(FIX::OrdType_LIMIT));
  m.setField(FIX::TimeInForce(FIX::TimeInForce_DAY));
  m.setField(FIX::FIELD::Price, std::to_string(a.price));
  m.setField(FIX::FIELD::OrderQty, "1");
  return m;
}

// The first ExecutionReport of an order answers it.
void on_report(Flow &f, const FIX::Message &m) {
  if (qf::msg_type(m) != "8")
    return;
  long index = std::atol(qf::field(m, 11).c_str());
  if (index < 0 || index >= (long)f.sent.size() ||
      index >= f.count_sent.load() || f.answered[(size_t)index])
    return;
  f.answered[(size_t)index] = 1;
  auto now = qf::Clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
      now - f.sent[(size_t)index]);
  f.latency_us[(size_t)f.count_answered.load()] = (uint32_t)us.count();
  f.last_answer = now;
  if (qf::field(m, 39) == "8")
    f.rejected++;
  f.count_answered++;
}

// Sends until the deadline or the flow's share of orders, keeping up to
// WINDOW unanswered.
void pump(const Args &a, Flow &f, qf::Clock::time_point deadline) {
  long limit = (long)f.sent.size();
  while (qf::Clock::now() < deadline && f.count_sent.load() < limit) {
    if (f.count_sent.load() - f.count_answered.load() >= a.window) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      continue;
    }
    long index = f.count_sent.load();
    FIX::Message m = order(a, index);
    f.sent[(size_t)index] = qf::Clock::now();
    f.count_sent++;
    if (!FIX::Session::sendToTarget(m, f.id))
      break;
  }
}

std::string config(const Args &a) {
  std::string cfg =
      "[DEFAULT]\nConnectionType=initiator\nReconnectInterval=1\nStartTime=00:"
      "00:00\n"
      "EndTime=00:00:00\nUseDataDictionary=N\nSocketNodelay=Y\nResetOnLogon=Y\n"
      "PersistMessages=N\nCheckLatency=N\n";
  for (int i = 1; i <= a.sessions; i++)
    cfg += "\n[SESSION]\nBeginString=" + a.begin + "\nSenderCompID=QF" +
           std::to_string(i) + "\nTargetCompID=" + a.target +
           "\nSocketConnectHost=" + a.host +
           "\nSocketConnectPort=" + std::to_string(a.port) +
           "\nHeartBtInt=30\n";
  return cfg;
}

uint32_t percentile(std::vector<uint32_t> &all, double p) {
  if (all.empty())
    return 0;
  size_t k = std::min(all.size() - 1, (size_t)(p * (double)all.size()));
  std::nth_element(all.begin(), all.begin() + (long)k, all.end());
  return all[k];
}

} // namespace

int main(int argc, char **argv) {
  Args a;
  if (!parse(argc, argv, &a))
    return usage();
  qf::App app;
  app.keep = false;
  std::vector<std::unique_ptr<Flow>> flows;
  std::map<std::string, Flow *> by_sender;
  long share = a.max_orders / a.sessions + 1;
  for (int i = 1; i <= a.sessions; i++) {
    auto f = std::make_unique<Flow>();
    std::string sender = "QF" + std::to_string(i);
    f->id = FIX::SessionID(a.begin, sender, a.target);
    f->sent.resize((size_t)share);
    f->answered.assign((size_t)share, 0);
    f->latency_us.resize((size_t)share);
    app.credentials[sender] = a.auth ? a.cred : qf::Credentials{};
    by_sender[sender] = f.get();
    flows.push_back(std::move(f));
  }
  app.on_app = [&](const FIX::Message &m, const FIX::SessionID &id) {
    auto it = by_sender.find(id.getSenderCompID().getValue());
    if (it != by_sender.end())
      on_report(*it->second, m);
  };
  try {
    std::istringstream cfg(config(a));
    FIX::SessionSettings settings(cfg);
    FIX::MemoryStoreFactory store;
    FIX::ThreadedSocketInitiator initiator(app, store, settings);
    initiator.start();
    int on = 0;
    for (auto &f : flows)
      on += app.wait_logon(f->id, true, 10000) ? 1 : 0;
    if (on != a.sessions) {
      std::printf("{\"error\":\"%d of %d sessions logged on in 10 s\"}\n", on,
                  a.sessions);
      initiator.stop(true);
      return 1;
    }
    auto start = qf::Clock::now();
    auto deadline = start + std::chrono::milliseconds((long)(a.seconds * 1000));
    std::vector<std::thread> pumps;
    for (auto &f : flows)
      pumps.emplace_back(pump, std::cref(a), std::ref(*f), deadline);
    for (auto &t : pumps)
      t.join();
    auto drain = qf::Clock::now() + std::chrono::seconds(2);
    for (auto &f : flows)
      while (f->count_answered.load() < f->count_sent.load() &&
             qf::Clock::now() < drain)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    initiator.stop(true);
    long sent = 0, answered = 0, rejected = 0;
    auto end = start;
    std::vector<uint32_t> all;
    for (auto &f : flows) {
      sent += f->count_sent.load();
      answered += f->count_answered.load();
      rejected += f->rejected.load();
      end = std::max(end, f->last_answer);
      all.insert(all.end(), f->latency_us.begin(),
                 f->latency_us.begin() + f->count_answered.load());
    }
    double elapsed = std::chrono::duration<double>(end - start).count();
    double rate = elapsed > 0 ? (double)answered / elapsed : 0;
    uint32_t p50 = percentile(all, 0.50), p99 = percentile(all, 0.99);
    std::printf("{\"orders_per_s\":%.0f,\"ack_p50_us\":%u,\"ack_p99_us\":%u,"
                "\"orders\":%ld,"
                "\"sent\":%ld,\"rejected\":%ld,\"sessions\":%d,\"window\":%d,"
                "\"seconds\":%.3f}\n",
                rate, p50, p99, answered, sent, rejected, a.sessions, a.window,
                elapsed);
    return answered > 0 ? 0 : 1;
  } catch (std::exception &e) {
    std::printf("{\"error\":\"QuickFIX: %s\"}\n", e.what());
    return 1;
  }
}
