; Loopback Studio test boot sector: 512 bytes that the BIOS loads at 0000:7C00 from sector 0.
; It sets up COM1, prints one line there and to QEMU's debug console (port 0xE9), asks QEMU's
; isa-debug-exit device (port 0xF4, when present) to quit, and otherwise halts, waking only to
; echo what arrives on COM1 back to it (IRQ 4), so a console's input can be seen to arrive.
; Build: nasm -f bin bootsector.asm -o bootsector.bin
;
; The layout leaves room for what a disk keeps in sector 0, so it can be installed over one:
; bytes 3-89 for a FAT12/16/32 BIOS parameter block (jump + BPB, Microsoft FAT spec 3.1-3.3)
; and bytes 446-509 for an MBR's partition table; the code sits between them.
bits 16
org 0x7C00

COM1     equ 0x3F8              ; 16550 UART registers, as offsets from the base port:
UART_DATA equ 0                 ;   transmit holding register / divisor latch low (DLAB=1)
UART_IER equ 1                  ;   interrupt enable / divisor latch high (DLAB=1)
UART_FCR equ 2                  ;   FIFO control
UART_LCR equ 3                  ;   line control: bit 7 = DLAB, bits 0-1 = word length
UART_MCR equ 4                  ;   modem control: DTR, RTS
UART_LSR equ 5                  ;   line status: bit 0 = data ready, bit 5 = transmit register empty
COM1_VECTOR equ 0x0C            ; IRQ 4 with the BIOS's PIC setup (master PIC at vector 8)
PIC1_DATA equ 0x21              ; master 8259 interrupt mask register
PIC1_COMMAND equ 0x20
PIC_EOI  equ 0x20
DEBUGCON equ 0xE9
DEBUG_EXIT equ 0xF4             ; QEMU exits with (value << 1) | 1
EXIT_VALUE equ 0x10             ; so QEMU's exit status is 33

%macro outb 2
    mov dx, %1
    mov al, %2
    out dx, al
%endmacro

    jmp short start
    nop
    times 90 - ($ - $$) db 0    ; the BPB's place (FAT32's extended BPB ends at byte 89)

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    cld
    outb COM1 + UART_IER, 0x00  ; no interrupts
    outb COM1 + UART_LCR, 0x80  ; DLAB on: the next two ports are the divisor
    outb COM1 + UART_DATA, 0x01 ; divisor 1: 115200 baud
    outb COM1 + UART_IER, 0x00
    outb COM1 + UART_LCR, 0x03  ; DLAB off; 8 data bits, no parity, 1 stop bit
    outb COM1 + UART_FCR, 0xC7  ; FIFO on, both cleared, 14-byte trigger
    outb COM1 + UART_MCR, 0x0B  ; DTR, RTS, and OUT2, which connects the UART to its IRQ line
    mov si, message
.next_char:
    lodsb
    test al, al
    jz .done
    mov bl, al
    mov dx, COM1 + UART_LSR
.wait_uart:
    in al, dx
    test al, 0x20
    jz .wait_uart
    mov al, bl
    mov dx, COM1 + UART_DATA
    out dx, al
    out DEBUGCON, al
    jmp .next_char
.done:
    mov al, EXIT_VALUE
    out DEBUG_EXIT, al
    mov word [COM1_VECTOR * 4], echo_irq ; real-mode interrupt vector table at 0000:0000
    mov word [COM1_VECTOR * 4 + 2], 0
    outb COM1 + UART_IER, 0x01  ; interrupt when a byte arrives
    in al, PIC1_DATA
    and al, ~0x10               ; unmask IRQ 4
    out PIC1_DATA, al
    sti
.halt:
    hlt
    jmp .halt

echo_irq:                       ; send every received byte straight back
    push ax
    push dx
.more:
    mov dx, COM1 + UART_LSR
    in al, dx
    test al, 0x01
    jz .eoi
    mov dx, COM1 + UART_DATA
    in al, dx
    out dx, al
    jmp .more
.eoi:
    mov al, PIC_EOI
    out PIC1_COMMAND, al
    pop dx
    pop ax
    iret

message: db 'Loopback Studio boot sector: hello from sector 0', 13, 10, 0

%if $ - $$ > 446
%error "the code overlaps the partition table (bytes 446-509)"
%endif
    times 510 - ($ - $$) db 0
    dw 0xAA55                   ; the boot signature the BIOS checks: 55 AA at bytes 510-511
