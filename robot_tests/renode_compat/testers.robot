*** Variables ***
${BIN}                        @${FIRMWARE}/shell.elf

*** Keywords ***
Create Machine
    [Arguments]               ${name}
    Execute Command           mach create "${name}"
    Execute Command           machine LoadPlatformDescription @platforms/boards/nucleo_f767zi.repl
    Execute Command           sysbus LoadELF ${BIN}

*** Test Cases ***
Testers Should Have Ids Per UART
    Create Machine            dut
    ${a}=                     Create Terminal Tester    sysbus.uart0
    ${b}=                     Create Terminal Tester    sysbus.uart1
    ${again}=                 Create Terminal Tester    uart0
    Should Be Equal As Integers    ${a}    0
    Should Be Equal As Integers    ${b}    1
    Should Be Equal As Integers    ${again}    0
    Run Keyword And Expect Error    *more than one tester*    Wait For Line On Uart    shell: ready
    Wait For Line On Uart     shell: ready    testerId=${a}
    Run Keyword And Expect Error    *timeout*    Wait For Line On Uart    shell: ready    testerId=${b}    timeout=0.1
    Run Keyword And Expect Error    *ID=7 was not found*    Wait For Line On Uart    x    testerId=7

Set Default Tester Should Pick The Tester
    Create Machine            dut
    ${a}=                     Create Terminal Tester    sysbus.uart0
    ${b}=                     Create Terminal Tester    sysbus.uart1
    Set Default Tester        ${a}
    Wait For Prompt On Uart   shell>
    Run Keyword And Expect Error    *Tester #5 was not found*    Set Default Tester    5

An Unknown UART Should Fail At Create Terminal Tester
    Create Machine            dut
    Run Keyword And Expect Error    *no UART 'sysbus.usart1'*sysbus.uart0*
    ...                       Create Terminal Tester    sysbus.usart1

Machine Should Select The Board
    Create Machine            first
    Create Machine            second
    ${one}=                   Create Terminal Tester    sysbus.uart0    machine=first
    ${two}=                   Create Terminal Tester    sysbus.uart0    machine=second
    Should Not Be Equal       ${one}    ${two}
    Wait For Line On Uart     shell: ready    testerId=${two}
    Wait For Line On Uart     shell: ready    testerId=${one}
    Run Keyword And Expect Error    *no machine 'third'*
    ...                       Create Terminal Tester    sysbus.uart0    machine=third

The Tester Timeout Should Be Its Own
    Create Machine            dut
    Create Terminal Tester    sysbus.uart0    timeout=0.5
    Wait For Prompt On Uart   shell>
    Write Line To Uart        quiet 1000
    Run Keyword And Expect Error    *timeout: 0.5 s*    Wait For Line On Uart    quiet: done
    Wait For Line On Uart     quiet: done    timeout=1

Set Default Uart Timeout Should Change Later Testers
    Set Default Uart Timeout    0.05
    Create Machine            dut
    Create Terminal Tester    sysbus.uart0
    Wait For Prompt On Uart   shell>
    Write Line To Uart        quiet 100
    Run Keyword And Expect Error    *timeout: 0.05 s*    Wait For Line On Uart    quiet: done

Timeouts And Testers Should Not Leak Into The Next Test
    Create Machine            dut
    ${id}=                    Create Terminal Tester    sysbus.uart0
    Should Be Equal As Integers    ${id}    0
    Wait For Prompt On Uart   shell>
    Write Line To Uart        quiet 100
    ${r}=                     Wait For Line On Uart    quiet: done
    Should Be True            ${r.Timestamp} > 100
