# Desk check of cuda/xnor_mma75.cu (m8n8k128 .xor.popc) without a GPU, as xnor_mma.py
# does for the sm_80+ kernel. Run: python3 scripts/emulate/xnor_mma75.py
import random
from xnor_mma import ref, popc, M64
kBM=kBN=64; kS=8; RB=80; kThreads=128; kWM=kWN=32; kMT=kNT=4; kLoads=4
def run(M,N,K,x,w,xs,ws):
    kwords=(K+63)//64; lm=((1<<(K%64))-1) if K%64 else M64
    nt=(N+63)//64; out={}
    for bid in range(((M+63)//64)*nt):
        m0=(bid//nt)*64; n0=(bid%nt)*64
        def sw(src,r0,rows,stride,k0,q):
            row=q//kS; part=q%kS; gr=r0+row; gk=k0+part
            if gr>=rows or gk>=kwords: return 0
            v=src[gr*stride+gk]; return v&lm if gk==kwords-1 else v
        acc={}
        for s in range((kwords+7)//8):
            sa=bytearray(64*RB); sb=bytearray(64*RB)
            for tid in range(kThreads):
                for l in range(kLoads):
                    q=tid+l*kThreads; off=(q//kS)*RB+(q%kS)*8
                    sa[off:off+8]=sw(x,m0,M,xs,s*8,q).to_bytes(8,'little')
                    sb[off:off+8]=sw(w,n0,N,ws,s*8,q).to_bytes(8,'little')
            u32=lambda t,o:int.from_bytes(t[o:o+4],'little')
            for ks in range(4):
                for warp in range(4):
                    wm=warp>>1; wn=warp&1
                    for i in range(kMT):
                        for j in range(kNT):
                            Am=[0]*8; Bm=[0]*8
                            for lane in range(32):
                                g=lane>>2;t=lane&3
                                a=u32(sa,(wm*kWM+i*8+g)*RB+ks*16+t*4)
                                b=u32(sb,(wn*kWN+j*8+g)*RB+ks*16+t*4)
                                Am[g]|=a<<(32*t); Bm[g]|=b<<(32*t)
                            for lane in range(32):
                                g=lane>>2;t=lane&3
                                for e in range(2):
                                    key=(warp,i,j,lane,e)
                                    acc[key]=acc.get(key,0)+popc(Am[g]^Bm[2*t+e])
        for warp in range(4):
            wm=warp>>1; wn=warp&1
            for lane in range(32):
                g=lane>>2;t=lane&3
                for i in range(kMT):
                    r=m0+wm*kWM+i*8+g
                    if r>=M: continue
                    for j in range(kNT):
                        for e in range(2):
                            c=n0+wn*kWN+j*8+2*t+e
                            if c>=N: continue
                            assert (r,c) not in out
                            out[(r,c)]=K-2*acc.get((warp,i,j,lane,e),0)
    return out
random.seed(2)
for (M,N,K,xe) in [(70,65,600,1),(1,1,1,0),(65,130,1153,0)]:
    kw=(K+63)//64; xs=kw+xe; ws=kw
    x=[random.getrandbits(64) for _ in range(M*xs)]; w=[random.getrandbits(64) for _ in range(N*ws)]
    lm=((1<<(K%64))-1) if K%64 else M64
    for r in range(M): x[r*xs+kw-1]&=lm
    for r in range(N): w[r*ws+kw-1]&=lm
    assert run(M,N,K,x,w,xs,ws)==ref(M,N,K,x,w,xs,ws); print('ok',M,N,K)
