/* telemetry_client_static: the periodic client of a closed two-board
 * simulation (platforms/simulations/telemetry-pair.yaml). Every
 * TELEMETRY_PERIOD_MS it sends a 64-byte report over TCP to the echo server
 * on the other board, waits for the echo, checks it, and sleeps until the
 * next period, as a sensor node reporting to a gateway does. Prints the
 * rounds and the worst round trip in board time; exit code 0 when every
 * report came back intact. */
#include <string.h>

#include "mbed.h"

#ifndef TELEMETRY_PEER
#define TELEMETRY_PEER "10.0.2.16"
#endif
#ifndef TELEMETRY_ROUNDS
#define TELEMETRY_ROUNDS 500
#endif
#ifndef TELEMETRY_PERIOD_MS
#define TELEMETRY_PERIOD_MS 10
#endif
#define REPORT_LEN 64

int main()
{
    printf("telemetry_client: start, peer %s:7, %d reports every %d ms\n", TELEMETRY_PEER, TELEMETRY_ROUNDS,
           TELEMETRY_PERIOD_MS);
    NetworkInterface *net = NetworkInterface::get_default_instance();
    net->set_network(SocketAddress("10.0.2.17"), SocketAddress("255.255.255.0"), SocketAddress("10.0.2.2"));
    if (net->connect() != NSAPI_ERROR_OK) {
        printf("telemetry_client: FAIL no network\n");
        return 1;
    }
    TCPSocket sock;
    sock.open(net);
    sock.set_timeout(2000);
    nsapi_error_t err = sock.connect(SocketAddress(TELEMETRY_PEER, 7));
    if (err != NSAPI_ERROR_OK) {
        printf("telemetry_client: FAIL connect %d\n", err);
        return 1;
    }
    uint32_t worst_ms = 0, bad = 0;
    uint32_t next = uint32_t(rtos::Kernel::get_ms_count());
    for (uint32_t round = 0; round < TELEMETRY_ROUNDS; round++) {
        uint8_t report[REPORT_LEN], echo[REPORT_LEN];
        int len = snprintf(reinterpret_cast<char *>(report), sizeof report, "node 17 round %lu temp %lu.%lu C",
                           (unsigned long)round, (unsigned long)(20 + round % 7), (unsigned long)(round % 10));
        memset(report + len, '.', sizeof report - size_t(len));
        uint32_t t0 = uint32_t(rtos::Kernel::get_ms_count());
        if (sock.send(report, sizeof report) != REPORT_LEN) {
            printf("telemetry_client: FAIL send in round %lu\n", (unsigned long)round);
            return 1;
        }
        size_t got = 0;
        while (got < sizeof echo) {
            nsapi_size_or_error_t r = sock.recv(echo + got, sizeof echo - got);
            if (r <= 0) {
                printf("telemetry_client: FAIL recv %d in round %lu\n", r, (unsigned long)round);
                return 1;
            }
            got += size_t(r);
        }
        bad += memcmp(report, echo, sizeof echo) != 0;
        uint32_t rtt = uint32_t(rtos::Kernel::get_ms_count()) - t0;
        worst_ms = rtt > worst_ms ? rtt : worst_ms;
        next += TELEMETRY_PERIOD_MS;
        int32_t wait = int32_t(next - uint32_t(rtos::Kernel::get_ms_count()));
        if (wait > 0) {
            rtos::ThisThread::sleep_for(std::chrono::milliseconds(wait));
        }
    }
    sock.close();
    printf("telemetry_client: %d reports, %lu mismatches, worst round trip %lu ms\n", TELEMETRY_ROUNDS,
           (unsigned long)bad, (unsigned long)worst_ms);
    printf("telemetry_client: %s\n", bad ? "FAIL" : "done");
    return bad ? 1 : 0;
}
