*** Settings ***
Documentation     A firmware fault is reported cleanly: the board stops and the report names the cause.
Resource          resources/vboard.resource
Test Timeout      2 minutes


*** Test Cases ***
Crash Is Reported
    Start Board    ${FIRMWARE}/crash.elf
    Wait For Line On Uart    crash: calling 0x60000000
    Run For    100ms
    ${report}=    Board Should Have Faulted    HardFault
    Should Contain    ${report}    IBUSERR
    Should Contain    ${report}    <main+
    Run Keyword And Expect Error    *faulted*HardFault*    Board Should Not Have Faulted

A Wait On A Faulted Board Ends At Once
    Start Board    ${FIRMWARE}/crash.elf
    Run Keyword And Expect Error    *stopped*    Wait For Line On Uart    never    timeout=100s
    Board Should Have Faulted

Reset Brings The Board Back
    Start Board    ${FIRMWARE}/crash.elf
    Run For    100ms
    Board Should Have Faulted
    Reset Board
    Wait For Line On Uart    crash: calling
    Run For    100ms
    Board Should Have Faulted
