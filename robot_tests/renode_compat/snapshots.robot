*** Variables ***
${UART}                       sysbus.uart0

*** Test Cases ***
Booted Shell
    Execute Command           mach create "dut"
    Execute Command           machine LoadPlatformDescription @platforms/boards/stm32f4_discovery-kit.repl
    Execute Command           sysbus LoadELF @${FIRMWARE}/shell.elf
    Create Terminal Tester    ${UART}
    Wait For Prompt On Uart   shell>
    Write Line To Uart        echo before
    Wait For Line On Uart     before
    Provides                  booted-shell

Should Continue From The Saved State
    Requires                  booted-shell
    ${r}=                     Wait For Prompt On Uart    shell>
    Write Line To Uart        echo after
    ${r}=                     Wait For Line On Uart    after
    Should Be Equal           ${r.Line}    after

Should Continue From The Saved State Twice
    Requires                  booted-shell
    Wait For Prompt On Uart   shell>
    Write Line To Uart        lines 2
    Wait For Line On Uart     line 2
    Run Keyword And Expect Error    *Required state nope not found*    Requires    nope

Reset Emulation Should Clear The Emulation
    Execute Command           mach create
    Execute Command           sysbus LoadELF @${FIRMWARE}/shell.elf
    Create Terminal Tester    ${UART}
    Wait For Prompt On Uart   shell>
    Reset Emulation
    Run Keyword And Expect Error    *no board*    Wait For Line On Uart    shell>
    Run Keyword And Expect Error    *no board*    Create Terminal Tester    ${UART}

Allocate Temporary File Should Give A New File
    ${a}=                     Allocate Temporary File
    ${b}=                     Allocate Temporary File
    Should Not Be Equal       ${a}    ${b}
    File Should Exist         ${a}
    File Should Be Empty      ${a}
    ${d}=                     Allocate Temporary Directory    logs
    Directory Should Exist    ${d}
