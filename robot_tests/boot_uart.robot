*** Settings ***
Documentation     Boot and UART: the hello, demo and uart_echo firmware through `vboard serve`.
Resource          resources/vboard.resource
Test Timeout      2 minutes


*** Test Cases ***
Hello Prints And Exits
    Start Board    ${FIRMWARE}/hello.elf
    Wait For Line On Uart    Hello from vboard
    ${line}=    Wait For Line On Uart    2 \\+ 40 \= (\\d+)    treatAsRegex=True
    Should End With    ${line.Line}    = 42
    Wait For Line On Uart    hello: done
    Run For    10ms
    Board Should Have Exited    0
    Board Should Not Have Faulted

Demo Ticks Five Times
    Start Board    ${FIRMWARE}/demo.elf
    Wait For Line On Uart    CPU: Cortex-M3
    ${groups}=    Wait For Line On Uart Matching    tick (\\d)/5    timeout=2s
    Should Be Equal    ${groups}[0]    1
    Wait For Line On Uart    tick 5/5    timeout=2s
    Wait For Line On Uart    demo: done    timeout=2s

Uart Echo Is Interactive
    Start Board    ${FIRMWARE}/uart_echo.elf
    Create Terminal Tester    uart0    timeout=1s
    Wait For Prompt On Uart    echo>
    Write To Uart    hello vboard\n
    Wait For Line On Uart    HELLO VBOARD
    Wait For Prompt On Uart    echo>
    Test If Uart Is Idle    0.2
    Write To Uart    Mixed Case 123!\n
    Wait For Line On Uart    MIXED CASE 123!
    Write To Uart    q
    Wait For Line On Uart    uart_echo: done
    Run For    1ms
    Board Should Have Exited    0

A Line That Never Comes Fails In Virtual Time
    Start Board    ${FIRMWARE}/uart_echo.elf
    Run Keyword And Expect Error    *not seen*timeout*
    ...    Wait For Line On Uart    never printed    timeout=50ms
    ${t}=    Get Virtual Time
    Should Be True    ${t} < 1
